//! End-to-end tests of `scimport import` (issues 5 and 6): the real binary against
//! the emulator over loopback, started in process on port 0.

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use serde_json::Value;

use crate::common::{self, hr_rows, last_run, read_json, show, write_csv};

/// Runs the CLI against the emulator (in a blocking thread so the emulator keeps serving).
pub(crate) async fn import(emu: &EmulatorHandle, runs: &Path, args: &[&str]) -> Output {
    let url = emu.url();
    common::import_at(emu.client_id(), emu.client_secret(), &url, runs, args).await
}

pub fn summary(runs: &Path) -> Value {
    read_json(&last_run(runs).join("summary.json"))
}

fn n(v: &Value, path: &str) -> u64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_u64()
        .unwrap_or_else(|| panic!("{path} missing in {v}"))
}

/// Active + inactive users per externalId in the emulator (deleted ones excluded).
pub fn users_by_external_id(emu: &EmulatorHandle) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for u in emu.users() {
        if u.state == scimport::emulator::UserState::Deleted {
            continue;
        }
        if let Some(x) = u.user.external_id.clone() {
            *m.entry(x).or_insert(0) += 1;
        }
    }
    m
}

fn assert_no_duplicates(emu: &EmulatorHandle) {
    let dup: Vec<_> = users_by_external_id(emu)
        .into_iter()
        .filter(|(_, c)| *c > 1)
        .collect();
    assert!(dup.is_empty(), "duplicate users: {dup:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_then_rerun_sends_no_write() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(60));
    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert_eq!(n(&s, "rows"), 60);
    assert_eq!(n(&s, "done.created"), 60);
    assert_eq!(n(&s, "outcomes.succeeded"), 60);
    assert_eq!(users_by_external_id(&emu).len(), 60);
    assert_no_duplicates(&emu);
    // 60 POSTs; managers of rows 1..10 exist before the rows that need them only if
    // created first, so a few deferred manager PATCHes are allowed; groups batch.
    assert!(n(&s, "calls.post") == 60, "{s}");

    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert_eq!(
        n(&s, "calls.writes"),
        0,
        "a re-run of the same file must not write: {s}"
    );
    assert_eq!(n(&s, "done.unchanged"), 60);
    assert_eq!(users_by_external_id(&emu).len(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_row_is_one_minimal_patch_and_groups_roles_skills_land() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mut rows = hr_rows(12);
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    // groups, roles and skills of row 1 (E000001: Tier 1 + Support Team? see hr_rows)
    let u = emu
        .users()
        .into_iter()
        .find(|u| u.user.external_id.as_deref() == Some("E000001"))
        .expect("user E000001");
    let roles: Vec<String> = u.user.roles.iter().map(|r| r.value.clone()).collect();
    assert!(roles.contains(&"Agent".to_string()), "roles {roles:?}");
    let skills: Vec<(String, f64)> = u
        .user
        .genesys
        .as_ref()
        .map(|g| {
            g.routing_skills
                .iter()
                .map(|s| (s.name.clone(), s.proficiency))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        skills.contains(&("Technical Support".to_string(), 5.0)),
        "skills {skills:?}"
    );
    let groups: Vec<String> = u
        .user
        .groups
        .iter()
        .filter_map(|g| g.display.clone())
        .collect();
    assert!(
        groups.contains(&"Sales Team".to_string()),
        "groups {groups:?}"
    );

    // change one title
    rows[4] = rows[4].replacen(",Agent,", ",Senior Agent,", 1);
    let csv = write_csv(tmp.path(), "hr2.csv", &rows);
    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert_eq!(n(&s, "done.updated"), 1, "{s}");
    assert_eq!(n(&s, "calls.patch"), 1, "{s}");
    assert_eq!(n(&s, "calls.post"), 0, "{s}");
    let u = emu
        .users()
        .into_iter()
        .find(|u| u.user.external_id.as_deref() == Some("E000005"))
        .expect("user E000005");
    assert_eq!(u.user.title.as_deref(), Some("Senior Agent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_user_active_in_source_is_reactivated() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(5));
    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // deactivate E000003 in the tenant, over HTTP
    let id = emu
        .users()
        .into_iter()
        .find(|u| u.user.external_id.as_deref() == Some("E000003"))
        .and_then(|u| u.user.id)
        .expect("id");
    let http = common::http();
    let bearer = common::token(&emu).await;
    let res = http
        .patch(format!("{}/users/{id}", emu.scim_url()))
        .bearer_auth(&bearer)
        .json(&serde_json::json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert_eq!(n(&s, "done.reactivated"), 1, "{s}");
    let u = emu
        .users()
        .into_iter()
        .find(|u| u.user.id.as_deref() == Some(&id))
        .unwrap();
    assert_eq!(u.user.active, Some(true));
    assert_no_duplicates(&emu);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_end_with_every_row_final_and_no_duplicate() {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.fail_rate = 0.1;
    cfg.drop_rate = 0.02;
    cfg.latency_ms = Some(scimport::emulator::LatencyRange { min: 1, max: 5 });
    cfg.seed = Some(42);
    let emu = spawn(cfg).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(150));
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            "fixtures/mapping.toml",
            "--max-attempts",
            "8",
            "--timeout",
            "5",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert_eq!(n(&s, "outcomes.succeeded"), 150, "{s}");
    assert_eq!(n(&s, "outcomes.pending"), 0);
    assert!(
        n(&s, "calls.retries") > 0,
        "faults must have caused retries: {s}"
    );
    assert_eq!(users_by_external_id(&emu).len(), 150);
    assert_no_duplicates(&emu);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiring_mid_run_is_refreshed() {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.token_ttl_secs = 1;
    let emu = spawn(cfg).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(30));
    // 600 calls/min = 10/s: the run lasts about 3 s, across several token lifetimes.
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            "fixtures/mapping.toml",
            "--rate",
            "600",
            "--lookup",
            "filter",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert_eq!(n(&s, "outcomes.succeeded"), 30, "{s}");
    assert!(
        n(&s, "calls.token") >= 2,
        "the token must have been refreshed: {s}"
    );
    assert_no_duplicates(&emu);
}

/// Spends the emulator's whole bucket for our client, as another job on the same
/// OAuth client would.
async fn drain_bucket(emu: &EmulatorHandle, calls: usize) {
    let http = common::http();
    let bearer = common::token(emu).await;
    let url = format!("{}/serviceproviderconfig", emu.scim_url());
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..calls {
        let (http, url, bearer) = (http.clone(), url.clone(), bearer.clone());
        set.spawn(async move {
            http.get(url)
                .bearer_auth(bearer)
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    let mut limited = 0;
    while let Some(r) = set.join_next().await {
        if r.unwrap().unwrap() == 429 {
            limited += 1;
        }
    }
    assert!(limited > 0, "the bucket was not drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_burst_is_absorbed_with_retry_after() {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.rate_limit_per_minute = Some(600);
    let emu = spawn(cfg).await.expect("emulator");
    drain_bucket(&emu, 620).await;
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(8));
    // No client-side pacing: the server's 429s and Retry-After must be honoured.
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            "fixtures/mapping.toml",
            "--rate",
            "off",
            "--lookup",
            "filter",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert_eq!(n(&s, "outcomes.succeeded"), 8, "{s}");
    assert!(n(&s, "calls.status_429") > 0, "expected 429s: {s}");
    assert_eq!(
        users_by_external_id(&emu).len(),
        8,
        "a refused create must not count, nor be doubled"
    );
    assert_no_duplicates(&emu);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_matching_the_tenant_sees_no_429() {
    let mut cfg = EmulatorConfig::for_tests();
    cfg.rate_limit_per_minute = Some(600);
    let emu = spawn(cfg).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(20));
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            "fixtures/mapping.toml",
            "--rate",
            "600",
            "--lookup",
            "filter",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert_eq!(n(&s, "outcomes.succeeded"), 20, "{s}");
    assert_eq!(n(&s, "calls.status_429"), 0, "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_injection_values_match_only_themselves() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mut rows = hr_rows(3);
    // E000001 exists after the first run; the hostile ids must never match it.
    let csv = write_csv(tmp.path(), "hr.csv", &rows[..1]);
    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    rows[1] = rows[1].replacen("E000002", "\"X\"\" or externalId eq \"\"E000001\"", 1);
    rows[2] = rows[2].replacen("E000003", "\"Y\\\"\" or userName pr or \"\"\"", 1);
    let csv = write_csv(tmp.path(), "hr2.csv", &rows);
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            "fixtures/mapping.toml",
            "--lookup",
            "filter",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert_eq!(n(&s, "done.created"), 2, "{s}");
    assert_eq!(n(&s, "done.unchanged"), 1, "{s}");
    let by = users_by_external_id(&emu);
    assert!(by.contains_key("X\" or externalId eq \"E000001"), "{by:?}");
    assert_eq!(by.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_in_a_cycle_are_all_created_and_linked() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let set_manager = |row: &str, m: &str| {
        let mut f: Vec<String> = row.split(',').map(str::to_string).collect();
        f[9] = m.to_string();
        f.join(",")
    };
    let rows = hr_rows(3);
    // 1 -> 2 -> 3 -> 1: nobody's manager exists before the others.
    let rows = vec![
        set_manager(&rows[0], "E000002"),
        set_manager(&rows[1], "E000003"),
        set_manager(&rows[2], "E000001"),
    ];
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    let out = import(
        &emu,
        &runs,
        &[csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let users = emu.users();
    let id_of = |x: &str| {
        users
            .iter()
            .find(|u| u.user.external_id.as_deref() == Some(x))
            .and_then(|u| u.user.id.clone())
    };
    for (who, manager) in [
        ("E000001", "E000002"),
        ("E000002", "E000003"),
        ("E000003", "E000001"),
    ] {
        let u = users
            .iter()
            .find(|u| u.user.external_id.as_deref() == Some(who))
            .expect("created");
        let m = u
            .user
            .enterprise
            .as_ref()
            .and_then(|e| e.manager.as_ref())
            .map(|m| m.value.clone());
        assert_eq!(m, id_of(manager), "manager of {who}");
    }
    // Whatever the order the rows run in, the first user created in a cycle cannot
    // name its manager in its POST: at least one manager is set afterwards.
    let summary = read_json(&last_run(&runs).join("summary.json"));
    let deferred = summary["deferred_managers"]
        .as_u64()
        .expect("deferred_managers");
    assert!(deferred >= 1, "{summary}");
}

/// Rows whose manager is created just before them wait for that create (they are
/// parked, not planned against a tenant that lacks the manager), so the manager
/// goes in their POST: no deferred manager, no user PATCH, even with every row in flight
/// at once and a slow tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_wait_for_their_managers_create_and_name_it_in_the_post() {
    let emu = spawn(EmulatorConfig {
        latency_ms: Some(scimport::emulator::LatencyRange { min: 20, max: 40 }),
        ..EmulatorConfig::for_tests()
    })
    .await
    .expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let rows: Vec<String> = hr_rows(12)
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let mut f: Vec<String> = row.split(',').map(str::to_string).collect();
            f[9] = if i == 0 {
                String::new()
            } else {
                "E000001".into()
            };
            f.join(",")
        })
        .collect();
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            "fixtures/mapping.toml",
            "--concurrency",
            "16",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = summary(&runs);
    assert_eq!(n(&s, "done.created"), 12, "{s}");
    assert_eq!(n(&s, "deferred_managers"), 0, "{s}");
    // The only PATCHes are the group memberships.
    assert_eq!(n(&s, "calls.patch"), n(&s, "group_patches"), "{s}");
    let users = emu.users();
    let boss = users
        .iter()
        .find(|u| u.user.external_id.as_deref() == Some("E000001"))
        .and_then(|u| u.user.id.clone())
        .expect("the manager was created");
    let managed = users
        .iter()
        .filter(|u| {
            u.user
                .enterprise
                .as_ref()
                .and_then(|e| e.manager.as_ref())
                .is_some_and(|m| m.value == boss)
        })
        .count();
    assert_eq!(managed, 11);
    emu.shutdown().await;
}
