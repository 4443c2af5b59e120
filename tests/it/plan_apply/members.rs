//! `import --plan` applies the planned group memberships exactly: the groups end
//! as a normal import leaves them, with one member PATCH per changed group (a
//! group with no planned change gets none), a membership made in the tenant
//! since planning is left alone, a user whose own write is stale gets no
//! membership change, and a group gone since planning fails its members' rows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use serde_json::{Value, json};

use super::{HEADER, MAPPING};
use crate::common::{self, last_run, read_json, show};

/// The shared mapping, plus `groups` (display names split on ";").
fn mapping() -> String {
    format!("{MAPPING}\n[[field]]\npath = \"groups\"\ncolumn = \"groups\"\n")
}

fn row(i: u32, title: &str, groups: &str) -> String {
    format!("E00{i},Ana{i},Lima,ana{i}@example.com,{title},Support,active,{groups}")
}

fn write_csv(dir: &Path, name: &str, rows: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{HEADER},groups\n{}\n", rows.join("\n"))).unwrap();
    p
}

/// Users 1-4 in the tenant with their groups; the input moves user 1 from Tier 1
/// to Tier 2 (memberships only), changes user 2's title (no membership change),
/// puts user 3 in Sales Team too (memberships only), leaves user 4 alone and
/// creates user 5 in Support Team and Tier 2. Night Shift changes in no way.
struct Tenant {
    emu: EmulatorHandle,
    _tmp: tempfile::TempDir,
    runs: PathBuf,
    mapping: PathBuf,
    input: PathBuf,
}

impl Tenant {
    async fn new() -> Tenant {
        let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mapping = dir.join("mapping.toml");
        std::fs::write(&mapping, self::mapping()).unwrap();
        let seed = write_csv(
            &dir,
            "seed.csv",
            &[
                row(1, "Agent", "Support Team;Tier 1"),
                row(2, "Agent", "Sales Team"),
                row(3, "Agent", "Support Team"),
                row(4, "Agent", "Night Shift"),
            ],
        );
        let input = write_csv(
            &dir,
            "hr.csv",
            &[
                row(1, "Agent", "Support Team;Tier 2"),
                row(2, "Lead", "Sales Team"),
                row(3, "Agent", "Support Team;Sales Team"),
                row(4, "Agent", "Night Shift"),
                row(5, "Agent", "Tier 2;Support Team"),
            ],
        );
        let t = Tenant {
            emu,
            _tmp: tmp,
            runs: dir.join("runs"),
            mapping,
            input,
        };
        let out = t
            .import(&[seed.to_str().unwrap(), "--mapping", t.mapping()])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        t
    }

    fn mapping(&self) -> &str {
        self.mapping.to_str().unwrap()
    }

    async fn import(&self, args: &[&str]) -> Output {
        let url = self.emu.url();
        common::import_at(
            self.emu.client_id(),
            self.emu.client_secret(),
            &url,
            &self.runs,
            args,
        )
        .await
    }

    async fn dry_run(&self) -> PathBuf {
        let input = self.input.to_str().unwrap();
        let out = self
            .import(&[input, "--mapping", self.mapping(), "--dry-run"])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        last_run(&self.runs)
    }

    async fn apply(&self, run: &Path) -> Output {
        let id = run.file_name().unwrap().to_str().unwrap();
        self.import(&["--plan", id]).await
    }

    fn calls(&self, method: &str) -> u64 {
        self.emu.stats().requests.get(method).copied().unwrap_or(0)
    }

    fn id_of(&self, x: &str) -> String {
        self.emu
            .users()
            .into_iter()
            .find(|u| u.user.external_id.as_deref() == Some(x))
            .and_then(|u| u.user.id)
            .unwrap_or_else(|| panic!("{x} is not in the tenant"))
    }

    /// Each group's members (by externalId) and version, read over SCIM.
    async fn groups(&self) -> BTreeMap<String, (BTreeSet<String>, String)> {
        let ids: BTreeMap<String, String> = self
            .emu
            .users()
            .into_iter()
            .filter_map(|u| Some((u.user.id?, u.user.external_id?)))
            .collect();
        let token = common::token(&self.emu).await;
        let page: Value = common::http()
            .get(format!("{}/Groups?count=25", self.emu.scim_url()))
            .bearer_auth(token)
            .send()
            .await
            .expect("list groups")
            .json()
            .await
            .expect("a group page");
        let groups = page["Resources"].as_array().expect("Resources").clone();
        groups
            .iter()
            .map(|g| {
                let members = g["members"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|m| {
                        let id = m["value"].as_str().unwrap_or_default();
                        ids.get(id).cloned().unwrap_or_else(|| id.to_string())
                    })
                    .collect();
                let name = g["displayName"].as_str().unwrap_or_default().to_string();
                let version = g["meta"]["version"].to_string();
                (name, (members, version))
            })
            .collect()
    }

    /// Adds the user with externalId `x` to the group named `name`, by hand.
    async fn join_by_hand(&self, x: &str, name: &str) {
        let token = common::token(&self.emu).await;
        let page: Value = common::http()
            .get(format!(
                "{}/Groups?filter=displayName%20eq%20%22{}%22",
                self.emu.scim_url(),
                name.replace(' ', "%20")
            ))
            .bearer_auth(&token)
            .send()
            .await
            .expect("find group")
            .json()
            .await
            .expect("a group page");
        let gid = page["Resources"][0]["id"].as_str().expect("group id");
        let r = common::http()
            .patch(format!("{}/Groups/{gid}", self.emu.scim_url()))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": self.id_of(x)}]}]}))
            .send()
            .await
            .expect("patch group");
        assert!(
            r.status().is_success(),
            "{}",
            r.text().await.unwrap_or_default()
        );
    }
}

/// Group name -> members by externalId.
fn members(groups: &BTreeMap<String, (BTreeSet<String>, String)>) -> BTreeMap<String, Vec<String>> {
    groups
        .iter()
        .map(|(n, (m, _))| (n.clone(), m.iter().cloned().collect()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_plan_apply_sends_exactly_the_planned_memberships() {
    let t = Tenant::new().await;
    let run = t.dry_run().await;
    // The plan records each user's joins and leaves by group id.
    let plan = common::plan_users(&run.join("plan.parquet"));
    let e1 = plan
        .iter()
        .find(|u| u.external_id.as_deref() == Some("E001"))
        .expect("user 1 planned");
    let m = e1.memberships().expect("readable").expect("planned");
    let names = |g: &[scimport::apply::plan_file::PlannedGroup]| {
        g.iter().map(|g| g.name.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        (names(&m.add), names(&m.remove)),
        (vec!["Tier 2".to_string()], vec!["Tier 1".to_string()])
    );
    assert!(
        e1.ops().expect("ops").is_empty(),
        "memberships are no user PATCH"
    );
    let before = t.groups().await;
    t.emu.reset_stats();
    let out = t.apply(&run).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // PATCHes: user 2's title, then one per changed group (Tier 1, Tier 2, Sales
    // Team, Support Team); POSTs: user 5 and the token.
    assert_eq!(
        (t.calls("POST"), t.calls("PATCH")),
        (2, 5),
        "{}",
        show(&out)
    );
    let applied = last_run(&t.runs);
    let summary = read_json(&applied.join("summary.json"));
    assert_eq!(summary["group_patches"], 4, "{summary}");
    assert_eq!(summary["outcomes"]["succeeded"], 4, "{summary}");
    let after = t.groups().await;
    assert_ne!(before["Night Shift"].1, "null", "groups carry meta.version");
    assert_eq!(
        after["Night Shift"].1, before["Night Shift"].1,
        "a group with no planned change is not patched"
    );
    // The groups end as a normal import of the same input leaves them.
    let normal = Tenant::new().await;
    let input = normal.input.to_str().unwrap();
    let out = normal.import(&[input, "--mapping", normal.mapping()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(members(&after), members(&normal.groups().await));
    assert_eq!(
        members(&after)["Tier 2"],
        vec!["E001".to_string(), "E005".to_string()]
    );
    // Nothing is left to do: planning again finds no change.
    let again = t.dry_run().await;
    let summary = read_json(&again.join("summary.json"));
    assert_eq!(summary["plan"]["users"], 0, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_plan_apply_leaves_unplanned_memberships_and_stale_users_alone() {
    let t = Tenant::new().await;
    let run = t.dry_run().await;
    // Meanwhile: user 4 joins Tier 1 by hand (a normal import would take it out),
    // and user 1 is edited, so its planned move from Tier 1 to Tier 2 is stale.
    t.join_by_hand("E004", "Tier 1").await;
    let token = common::token(&t.emu).await;
    let r = common::http()
        .patch(format!("{}/Users/{}", t.emu.scim_url(), t.id_of("E001")))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .json(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Edited by hand"}]}),
        )
        .send()
        .await
        .expect("patch user");
    assert!(r.status().is_success());
    t.emu.reset_stats();
    let out = t.apply(&run).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "user 1 is stale: {}",
        show(&out)
    );
    // PATCHes: user 2's title, Tier 2 (user 5 only), Sales Team, Support Team.
    assert_eq!(t.calls("PATCH"), 4, "{}", show(&out));
    let after = members(&t.groups().await);
    assert_eq!(
        after["Tier 1"],
        vec!["E001".to_string(), "E004".to_string()]
    );
    assert_eq!(after["Tier 2"], vec!["E005".to_string()]);
    assert_eq!(
        after["Sales Team"],
        vec!["E002".to_string(), "E003".to_string()]
    );
    let summary = read_json(&last_run(&t.runs).join("summary.json"));
    assert_eq!(summary["done"]["plan_stale"], 1, "{summary}");
    assert_eq!(summary["group_patches"], 3, "{summary}");
    // What the apply left alone, a normal (reconciling) import takes out.
    let input = t.input.to_str().unwrap();
    let out = t.import(&[input, "--mapping", t.mapping()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(members(&t.groups().await)["Tier 1"], Vec::<String>::new());
}

/// A group deleted since planning (here: absent from the groups the pass reads)
/// fails the rows of the users it would have changed, with a clear error; the
/// other groups' planned changes still land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_a_group_gone_since_planning_fails_its_members_rows() {
    use scimport::apply::api::{Api, ApiOptions, NoObserver};
    use scimport::apply::execute::Revisions;
    use scimport::apply::groups::PlannedPass;
    use scimport::ledger::{Action, LedgerRow, Outcome};
    use scimport::model::ErrorKind;
    use scimport::plan::{MemberOp, MembershipChange, PlanOptions};

    let t = Tenant::new().await;
    let opts = ApiOptions {
        pace: scimport::apply::limiter::Pace::Off,
        concurrency: 2,
        timeout: std::time::Duration::from_secs(10),
        max_attempts: 3,
        retry_budget: 100,
        backoff_base: std::time::Duration::from_millis(10),
        backoff_cap: std::time::Duration::from_millis(100),
        circuit_threshold: 3,
    };
    let target =
        scimport::scim::Target::emulator(&t.emu.url(), t.emu.client_id(), t.emu.client_secret());
    let api = Api::new(&target, opts, std::sync::Arc::new(NoObserver)).expect("api");
    let groups = api
        .list_groups(1, 25, None)
        .await
        .expect("groups")
        .resources;
    let id = |name: &str| {
        groups
            .iter()
            .find(|g| g.display_name.as_deref() == Some(name))
            .and_then(|g| g.id.clone())
            .expect("a default group")
    };
    let join = |gid: String, name: &str| MembershipChange {
        group_id: gid,
        group_name: name.into(),
        op: MemberOp::Add,
    };
    let row = |r| {
        LedgerRow::without_call(
            r,
            None,
            None,
            Action::Update,
            Outcome::Skipped,
            String::new(),
        )
    };
    let mut pass = PlannedPass::default();
    pass.add(t.id_of("E004"), &[join(id("Tier 2"), "Tier 2")], row(4));
    pass.add(
        t.id_of("E002"),
        &[join("gone-id".into(), "Old Team")],
        row(2),
    );
    let mut revised = Revisions::new();
    t.emu.reset_stats();
    let patches = pass
        .apply_to(&api, &groups, &PlanOptions::default(), &mut revised)
        .await
        .expect("nothing stops the run");
    assert_eq!(patches, 1, "Tier 2 only");
    assert_eq!(t.calls("PATCH"), 1);
    let gone = &revised[&2];
    assert_eq!(gone.outcome, Outcome::Failed);
    assert_eq!(gone.error_kind, Some(ErrorKind::GroupMembership));
    let why = gone.error.as_deref().unwrap_or_default();
    assert!(
        why.contains("\"Old Team\" (id gone-id) is no longer in the tenant"),
        "{why}"
    );
    let landed = &revised[&4];
    assert_eq!(
        (landed.outcome, landed.action),
        (Outcome::Succeeded, Action::Update)
    );
    assert!(landed.changed_fields.iter().any(|f| f == "groups"));
    assert_eq!(
        members(&t.groups().await)["Tier 2"],
        vec!["E004".to_string()]
    );
}
