//! The client layer (`apply::api` over `scim::auth`, `scim::client`, `scim::filter`,
//! `apply::limiter`, `apply::retry`) end to end against the in-process emulator
//! over loopback: token expiry mid-run, a 429 burst, faults with no duplicate
//! creates, filter-injection values, version conflicts, refused credentials.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use scimport::apply::api::{Api, ApiError, ApiOptions, CallObserver, CallRecord, NoObserver};
use scimport::apply::limiter::Pace;
use scimport::emulator::{
    EmulatorConfig, EmulatorHandle, LatencyRange, UserState, VersionConflict, spawn,
};
use scimport::scim::Target;
use scimport::scim::filter;
use scimport::scim::model::{PatchOperation, User};
use serde_json::json;

fn opts() -> ApiOptions {
    ApiOptions {
        pace: Pace::Off,
        concurrency: 8,
        timeout: Duration::from_secs(10),
        max_attempts: 8,
        retry_budget: 10_000,
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_millis(200),
        circuit_threshold: 3,
    }
}

fn target(emu: &EmulatorHandle) -> Target {
    Target::emulator(&emu.url(), emu.client_id(), emu.client_secret())
}

fn api(emu: &EmulatorHandle, opts: ApiOptions) -> Api {
    Api::new(&target(emu), opts, Arc::new(NoObserver)).unwrap()
}

fn user(ext: &str, n: usize) -> User {
    User {
        schemas: vec![scimport::scim::model::SCHEMA_USER.to_string()],
        external_id: Some(ext.to_string()),
        user_name: Some(format!("client.it.{n}@example.com")),
        display_name: Some(format!("Client Test {n}")),
        active: Some(true),
        ..User::default()
    }
}

fn status_count(emu: &EmulatorHandle, status: &str) -> u64 {
    emu.stats().status.get(status).copied().unwrap_or(0)
}

#[derive(Default)]
struct Recorder(parking_lot::Mutex<Vec<CallRecord>>);

impl CallObserver for Recorder {
    fn on_call(&self, call: &CallRecord) {
        self.0.lock().push(call.clone());
    }
}

#[tokio::test]
async fn create_get_patch_and_version_conflict() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let api = api(&emu, opts());
    let created = api.create_user(Some(1), &user("ext-1", 1)).await.unwrap();
    assert!(!created.adopted);
    assert_eq!(created.user.status, 201);
    let id = created.user.value.id.clone().unwrap();
    let etag = created.user.etag.clone().expect("POST returns an ETag");

    let got = api.get_user(Some(1), &id).await.unwrap();
    assert_eq!(got.etag.as_deref(), Some(etag.as_str()));
    assert_eq!(got.value.external_id.as_deref(), Some("ext-1"));

    let ops = vec![PatchOperation::replace("title", json!("Agent"))];
    let patched = api
        .patch_user(Some(1), &id, ops.clone(), Some(&etag))
        .await
        .unwrap();
    assert_eq!(patched.value.title.as_deref(), Some("Agent"));
    assert_ne!(patched.etag, Some(etag.clone()));

    // The old version is stale now.
    let err = api
        .patch_user(Some(1), &id, ops, Some(&etag))
        .await
        .unwrap_err();
    assert!(err.is_version_conflict(), "{err:?}");
    assert_eq!(err.kind().as_str(), "version_conflict");
    assert_eq!(err.attempts(), 1, "conflicts are not retried");

    // A second POST of the same userName is a uniqueness error, not a retry.
    let err = api
        .create_user(Some(2), &user("ext-2", 1))
        .await
        .unwrap_err();
    assert!(err.is_uniqueness(), "{err:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn lists_and_group_patch() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let api = api(&emu, opts());
    let id = api
        .create_user(None, &user("g-1", 1))
        .await
        .unwrap()
        .user
        .value
        .id
        .unwrap();
    let groups = api
        .list_groups(1, 25, Some(&filter::eq("displayName", "Tier 1")))
        .await
        .unwrap();
    assert_eq!(groups.resources.len(), 1);
    let gid = groups.resources[0].id.clone().unwrap();
    let g = api
        .patch_group(
            None,
            &gid,
            vec![PatchOperation::add("members", json!([{ "value": id }]))],
            None,
        )
        .await
        .unwrap();
    let g = if g.value.members.is_empty() {
        api.get_group(None, &gid).await.unwrap()
    } else {
        g
    };
    assert!(g.value.members.iter().any(|m| m.value == id));
    let page = api.list_users(1, 25, Some("userName"), None).await.unwrap();
    assert_eq!(page.total_results, 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn issue_5_filter_injection_values_match_only_themselves() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let api = api(&emu, opts());
    let values = [
        r#"has"quote"#,
        r"back\slash",
        r#"x" or userName pr or externalId eq "y"#,
        "close]bracket",
        r#"trailing\"#,
    ];
    for (n, v) in values.iter().enumerate() {
        api.create_user(Some(n as u64), &user(v, n)).await.unwrap();
    }
    for v in values {
        let found = api
            .find_users(None, &filter::eq("externalId", v))
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{v}");
        assert_eq!(found[0].external_id.as_deref(), Some(v));
    }
    let none = api
        .find_users(
            None,
            &filter::eq("externalId", r#"nobody" or externalId pr or "x"#),
        )
        .await
        .unwrap();
    assert!(none.is_empty());
    emu.shutdown().await;
}

#[tokio::test]
async fn token_expiry_mid_run_is_refreshed_ahead_without_401s() {
    let emu = spawn(EmulatorConfig {
        token_ttl_secs: 1,
        latency_ms: Some(LatencyRange { min: 80, max: 120 }),
        ..EmulatorConfig::for_tests()
    })
    .await
    .unwrap();
    let rec = Arc::new(Recorder::default());
    let api = Api::new(&target(&emu), opts(), rec.clone()).unwrap();
    // About 3 s of sequential calls: three token lifetimes.
    for n in 0..30 {
        api.create_user(Some(n), &user(&format!("ttl-{n}"), n as usize))
            .await
            .unwrap();
    }
    let s = api.stats();
    assert!(s.token >= 3, "{s:?}");
    assert_eq!(s.failed, 0);
    // Refreshed ahead of expiry: the emulator never saw an expired bearer, and a
    // refresh was never triggered by a 401.
    assert_eq!(status_count(&emu, "401"), 0);
    assert!(rec.0.lock().iter().all(|c| c.status != Some(401)));
    emu.shutdown().await;
}

#[tokio::test]
async fn a_429_burst_pauses_everyone_and_every_call_succeeds() {
    // The emulator's bucket holds a minute's worth (120) and refills 2/s: 130
    // unpaced calls overrun it unless sending the first 130 takes over 5 s.
    let emu = spawn(EmulatorConfig {
        rate_limit_per_minute: Some(120),
        ..EmulatorConfig::for_tests()
    })
    .await
    .unwrap();
    let concurrency = 8;
    let api = api(
        &emu,
        ApiOptions {
            pace: Pace::Off, // unpaced: the server's 429s must do the pacing
            concurrency,
            ..opts()
        },
    );
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..130 {
        let api = api.clone();
        set.spawn(async move { api.list_users(1, 1, Some("userName"), None).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    let s = api.stats();
    assert!(s.status_429 >= 1, "{s:?}");
    assert_eq!(s.status_429, status_count(&emu, "429"));
    // After a 429 nobody sends until Retry-After: at most the calls already in
    // flight when a pause began can hit the limit again.
    assert!(
        s.status_429 <= s.pauses * concurrency as u64,
        "429s {} pauses {}",
        s.status_429,
        s.pauses
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn paced_at_the_tenants_rate_gets_no_429() {
    let emu = spawn(EmulatorConfig {
        rate_limit_per_minute: Some(1200),
        ..EmulatorConfig::for_tests()
    })
    .await
    .unwrap();
    let api = api(
        &emu,
        ApiOptions {
            pace: Pace::Fixed(1200),
            concurrency: 16,
            ..opts()
        },
    );
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let api = api.clone();
        set.spawn(async move { api.list_users(1, 1, Some("userName"), None).await });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(status_count(&emu, "429"), 0);
    assert_eq!(api.stats().status_429, 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn faults_end_with_every_user_created_exactly_once() {
    let emu = spawn(EmulatorConfig {
        fail_rate: 0.1,
        drop_rate: 0.05,
        seed: Some(7),
        ..EmulatorConfig::for_tests()
    })
    .await
    .unwrap();
    let api = api(&emu, opts());
    let n = 200;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let api = api.clone();
        set.spawn(async move {
            api.create_user(Some(i as u64), &user(&format!("fault-{i}"), i))
                .await
        });
    }
    let mut adopted = 0;
    while let Some(r) = set.join_next().await {
        let created = r.unwrap().unwrap();
        adopted += usize::from(created.adopted);
    }
    let mut by_ext: HashMap<String, usize> = HashMap::new();
    for u in emu.users() {
        if u.state != UserState::Deleted {
            *by_ext
                .entry(u.user.external_id.clone().unwrap_or_default())
                .or_default() += 1;
        }
    }
    assert_eq!(by_ext.len(), n, "every user exists");
    assert!(by_ext.values().all(|c| *c == 1), "no duplicates");
    let s = api.stats();
    assert_eq!(s.adopted as usize, adopted);
    assert!(emu.stats().dropped > 0, "the run saw dropped connections");
    assert!(s.retries > 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn refused_credentials_stop_the_run() {
    let emu = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let t = Target::emulator(&emu.url(), emu.client_id(), "wrong-secret");
    let rec = Arc::new(Recorder::default());
    let api = Api::new(&t, opts(), rec.clone()).unwrap();
    let err = api.get_user(None, "nobody").await.unwrap_err();
    assert!(err.stops_run(), "{err:?}");
    let err = api.list_users(1, 1, None, None).await.unwrap_err();
    assert!(matches!(err, ApiError::CircuitOpen { .. }), "{err:?}");
    let text = format!("{:?}", rec.0.lock());
    assert!(!text.contains("wrong-secret"), "{text}");
    emu.shutdown().await;
}

#[tokio::test]
async fn version_conflicts_in_409_and_412_modes() {
    for (mode, status) in [
        (VersionConflict::Conflict, 409),
        (VersionConflict::PreconditionFailed, 412),
    ] {
        let emu = spawn(EmulatorConfig {
            version_conflict: mode,
            ..EmulatorConfig::for_tests()
        })
        .await
        .unwrap();
        let api = api(&emu, opts());
        let id = api
            .create_user(None, &user("vc-1", 1))
            .await
            .unwrap()
            .user
            .value
            .id
            .unwrap();
        let ops = vec![PatchOperation::replace("title", json!("Agent"))];
        let err = api
            .patch_user(None, &id, ops, Some("\"999\""))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(status));
        assert!(err.is_version_conflict(), "{err:?}");
        assert!(!err.is_uniqueness(), "{err:?}");
        emu.shutdown().await;
    }
}

#[tokio::test]
async fn the_servers_rate_headers_lower_the_pace() {
    let emu = spawn(EmulatorConfig {
        rate_limit_per_minute: Some(600),
        ..EmulatorConfig::for_tests()
    })
    .await
    .unwrap();
    let api = api(
        &emu,
        ApiOptions {
            pace: Pace::Fixed(60_000),
            ..opts()
        },
    );
    assert_eq!(api.stats().current_rate, Some(60_000));
    api.list_users(1, 1, None, None).await.unwrap();
    // 600 less the limiter's 2 % headroom.
    assert_eq!(api.stats().current_rate, Some(588));
    emu.shutdown().await;
}
