//! Issue 14, the acceptance test through the engine: a tenant member deleted in the
//! middle of an import with groups fails at most its own row; the other rows'
//! memberships land, and the summary's created count equals the users created; a
//! `--retry-failed` of that row, once the user exists again, sends only its
//! membership.
//!
//! Deterministic without sleeps: the run reads the whole tenant first
//! (`LookupMode::Prefetch`), and the source hands over its second chunk only once
//! the run has taken the first, so the member is deleted after the run planned from
//! it and before the group pass (which starts after the source ends).

use std::sync::Arc;

use scimport::apply::lookup::LookupMode;
use scimport::emulator::{EmulatorConfig, EmulatorHandle, UserState, spawn};
use scimport::engine::{
    Controls, DesiredSource, Engine, EngineConfig, Feed, InputChoice, RunKind, SourceHead,
    TargetChoice,
};
use scimport::mapping::Mapping;
use scimport::model::{Action, ErrorKind, Outcome};
use scimport::scim::Target;
use scimport::source::{Header, Record};
use scimport::validate::{Prepared, check_record};
use tokio::sync::{mpsc, oneshot};

const MAPPING: &str = r#"
version = 1
keys = ["externalId", "userName"]

[[field]]
path = "externalId"
column = "id"

[[field]]
path = "userName"
column = "email"

[[field]]
path = "displayName"
column = "name"

[[field]]
path = "groups"
column = "groups"
"#;

const COLUMNS: [&str; 4] = ["id", "email", "name", "groups"];

/// Row `n` of the input: a user wanting `groups`.
fn row(n: u64, groups: &str) -> [String; 4] {
    [
        format!("E{n}"),
        format!("user{n}@example.com"),
        format!("User {n}"),
        groups.to_string(),
    ]
}

/// A source that sends `first`, then (once the run took it) calls `between`, then
/// sends `second` and ends.
struct TwoPhase {
    first: Vec<[String; 4]>,
    second: Vec<[String; 4]>,
    between: Box<dyn FnOnce() -> tokio::task::JoinHandle<()> + Send>,
}

impl DesiredSource for TwoPhase {
    fn start(self, mapping: Arc<Mapping>) -> Feed {
        let (head_tx, head) = oneshot::channel();
        let (tx, chunks) = mpsc::channel(1);
        let (end_tx, end) = oneshot::channel();
        let header = Header::new(COLUMNS.map(String::from).to_vec());
        let prepare = move |rows: Vec<[String; 4]>, from: u64| -> Vec<Prepared> {
            rows.into_iter()
                .enumerate()
                .map(|(i, fields)| {
                    let record = Record {
                        row: from + i as u64,
                        fields: fields.to_vec(),
                    };
                    let result = check_record(&mapping, &header, &record);
                    Prepared {
                        record,
                        result,
                        keys: Default::default(),
                    }
                })
                .collect()
        };
        let total = (self.first.len() + self.second.len()) as u64;
        let second_from = self.first.len() as u64 + 1;
        let first = prepare(self.first, 1);
        let second = prepare(self.second, second_from);
        let between = self.between;
        tokio::spawn(async move {
            let _ = head_tx.send(Ok(SourceHead {
                header: COLUMNS.map(String::from).to_vec(),
                expected_rows: Some(total),
            }));
            tx.send(first).await.expect("the run takes the first chunk");
            // The channel holds one chunk: this send returns once the run took the
            // first, i.e. after it read the tenant.
            tx.send(Vec::new())
                .await
                .expect("the run takes an empty chunk");
            between().await.expect("the deletion ran");
            tx.send(second)
                .await
                .expect("the run takes the second chunk");
            drop(tx);
            let _ = end_tx.send(Ok(()));
        });
        Feed { head, chunks, end }
    }
}

fn config(emu: &EmulatorHandle, dir: &std::path::Path) -> EngineConfig {
    let mapping = dir.join("mapping.toml");
    std::fs::write(&mapping, MAPPING).expect("write mapping");
    let target = Target::emulator(&emu.url(), emu.client_id(), emu.client_secret());
    let mut cfg = EngineConfig::new(
        TargetChoice::Tenant(target),
        dir.join("runs"),
        InputChoice::Feed {
            label: "two phases".into(),
        },
        mapping,
    );
    cfg.api.pace = scimport::apply::limiter::Pace::Off;
    cfg.lookup = LookupMode::Prefetch;
    cfg
}

async fn delete_user(url: String, token: String, id: String) {
    let res = crate::common::http()
        .delete(format!("{url}/users/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("delete user");
    assert!(res.status().is_success(), "{}", res.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_member_deleted_mid_import_fails_at_most_its_row() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().expect("tempdir");

    // Before: users 1 and 2 exist, in Support Team only.
    let before: Vec<_> = (1..=2).map(|n| row(n, "Support Team")).collect();
    let engine = Engine::try_new(config(&emu, tmp.path())).expect("engine");
    let source = TwoPhase {
        first: before,
        second: Vec::new(),
        between: Box::new(|| tokio::spawn(async {})),
    };
    let report = engine
        .run(source, Controls::quiet())
        .await
        .expect("seed run");
    assert_eq!(report.done.created, 2, "{:?}", report.done);
    assert_eq!(emu.users().len(), 2);
    let gone = emu
        .users()
        .into_iter()
        .find(|u| u.user.user_name.as_deref() == Some("user2@example.com"))
        .and_then(|u| u.user.id)
        .expect("user 2 exists");

    // The import: users 1 and 2 now also want Tier 1, as do six new users; user 2 is
    // deleted in the tenant after the run read it, before the group pass.
    let first: Vec<_> = (1..=4).map(|n| row(n, "Support Team;Tier 1")).collect();
    let second: Vec<_> = (5..=8).map(|n| row(n, "Support Team;Tier 1")).collect();
    let (url, token) = (emu.scim_url(), crate::common::token(&emu).await);
    let gone_for_source = gone.clone();
    let engine = Engine::try_new(config(&emu, tmp.path())).expect("engine");
    let source = TwoPhase {
        first,
        second,
        between: Box::new(move || tokio::spawn(delete_user(url, token, gone_for_source))),
    };
    let report = engine.run(source, Controls::quiet()).await.expect("import");

    let ledger =
        scimport::ledger::read_ledger(&report.dir.root.join("ledger.parquet")).expect("ledger");
    let failed: Vec<_> = ledger
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "at most the deleted member's row fails: {failed:?}"
    );
    assert_eq!(failed[0].row, 2);
    assert_eq!(failed[0].error_kind, Some(ErrorKind::GroupMembership));

    // Every live user is in both groups.
    let live: Vec<String> = emu
        .users()
        .into_iter()
        .filter(|u| u.state == UserState::Active)
        .filter_map(|u| u.user.id)
        .collect();
    assert_eq!(live.len(), 7);
    assert!(!live.contains(&gone));
    let token = crate::common::token(&emu).await;
    let groups: serde_json::Value = crate::common::http()
        .get(format!("{}/groups", emu.scim_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("list groups")
        .json()
        .await
        .expect("group list");
    for name in ["Support Team", "Tier 1"] {
        let members: Vec<String> = groups["Resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["displayName"] == name)
            .flat_map(|g| g["members"].as_array().cloned().unwrap_or_default())
            .filter_map(|m| m["value"].as_str().map(str::to_string))
            .collect();
        for id in &live {
            assert!(members.contains(id), "{id} in {name}: {members:?}");
        }
    }
    // The summary counts what the tenant holds: six users created.
    assert_eq!(report.done.created, 6, "{:?}", report.done);
    assert_eq!(report.done.failed, 1);
    // User 2's only change was its groups, which failed: nothing updated for it.
    assert_eq!(report.done.updated, 1, "{:?}", report.done);

    // An admin restores user 2 (same keys, new id); the user fixes nothing else.
    // --retry-failed finds the user and sends only the membership: no user created.
    let token = crate::common::token(&emu).await;
    let restored: serde_json::Value = crate::common::http()
        .post(format!("{}/users", emu.scim_url()))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "externalId": "E2",
            "userName": "user2@example.com",
            "displayName": "User 2",
            "active": true,
        }))
        .send()
        .await
        .expect("restore user 2")
        .json()
        .await
        .expect("created user");
    let restored = restored["id"].as_str().expect("an id").to_string();
    let failed_csv = report.dir.root.join("failed.csv");
    let [id, email, name, groups] = row(2, "Support Team;Tier 1");
    std::fs::write(
        &failed_csv,
        format!(
            "{},row,error_kind,error\n{id},{email},{name},{groups},2,group_membership,refused\n",
            COLUMNS.join(",")
        ),
    )
    .expect("failed.csv");
    let users_before = emu.users().len();
    let mut cfg = config(&emu, tmp.path());
    cfg.kind = RunKind::RetryFailed(report.run_id.clone());
    cfg.input = InputChoice::File {
        path: None,
        format: None,
        delimiter: None,
    };
    let engine = Engine::try_new(cfg).expect("retry engine");
    let source = engine.file_source();
    let retry = engine.run(source, Controls::quiet()).await.expect("retry");
    let ledger =
        scimport::ledger::read_ledger(&retry.dir.root.join("ledger.parquet")).expect("ledger");
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!((ledger[0].row, ledger[0].outcome), (2, Outcome::Succeeded));
    assert_ne!(ledger[0].action, Action::Create, "{:?}", ledger[0]);
    assert_eq!(ledger[0].scim_id.as_deref(), Some(restored.as_str()));
    assert_eq!(
        emu.users().len(),
        users_before,
        "no user created by the retry"
    );
    assert_eq!(retry.done.created, 0);
    let token = crate::common::token(&emu).await;
    let groups: serde_json::Value = crate::common::http()
        .get(format!(
            "{}/groups?filter=displayName%20eq%20%22Tier%201%22",
            emu.scim_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("get Tier 1")
        .json()
        .await
        .expect("group list");
    let tier1 = groups["Resources"][0]["members"].to_string();
    assert!(tier1.contains(&restored), "{tier1}");
    emu.shutdown().await;
}
