//! Issue 14, the acceptance test through the engine: a tenant member deleted in the
//! middle of an import with groups fails at most its own row; the other rows'
//! memberships land, and the summary's created count equals the users created.
//!
//! Deterministic without sleeps: the run reads the whole tenant first
//! (`LookupMode::Prefetch`), and the source hands over its second chunk only once
//! the run has taken the first, so the member is deleted after the run planned from
//! it and before the group pass (which starts after the source ends).

use std::sync::Arc;

use scimport::apply::lookup::LookupMode;
use scimport::emulator::{EmulatorConfig, EmulatorHandle, UserState, spawn};
use scimport::engine::{
    Controls, DesiredSource, Engine, EngineConfig, Feed, InputChoice, SourceHead, TargetChoice,
};
use scimport::mapping::Mapping;
use scimport::model::{ErrorKind, Outcome};
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
                    Prepared { record, result }
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
    emu.shutdown().await;
}
