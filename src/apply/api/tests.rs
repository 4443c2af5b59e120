//! Unit tests of the façade against wiremock, for responses the emulator does not
//! produce on demand (a 401 mid-run, a 429 with a given Retry-After, a 500 after a
//! create, a slow POST). End-to-end tests against the emulator are in tests/it/client.rs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{body_string_contains, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, Request as WmRequest, ResponseTemplate};

use super::*;
use crate::model::ErrorKind;

const SECRET: &str = "s3cr3t-value";
const TOKEN: &str = "tok-abc-123";

#[derive(Default)]
struct Recorder(parking_lot::Mutex<Vec<CallRecord>>);

impl CallObserver for Recorder {
    fn on_call(&self, call: &CallRecord) {
        self.0.lock().push(call.clone());
    }
}

fn opts() -> ApiOptions {
    ApiOptions {
        pace: Pace::Off,
        concurrency: 8,
        timeout: Duration::from_secs(5),
        max_attempts: 4,
        retry_budget: 100,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(20),
        circuit_threshold: 3,
    }
}

async fn server_with_token(ttl: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", "Basic aWQ6czNjcjN0LXZhbHVl"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": TOKEN, "token_type": "bearer", "expires_in": ttl
        })))
        .mount(&server)
        .await;
    server
}

fn api(server: &MockServer, opts: ApiOptions) -> (Api, Arc<Recorder>) {
    let target = Target::emulator(&server.uri(), "id", SECRET);
    let rec = Arc::new(Recorder::default());
    (Api::new(&target, opts, rec.clone()).unwrap(), rec)
}

fn user_json(id: &str, ext: &str, name: &str) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id, "externalId": ext, "userName": name, "displayName": "X", "active": true,
        "meta": {"resourceType": "User", "version": "1"}
    })
}

fn list_json(users: Vec<serde_json::Value>) -> serde_json::Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": users.len(), "startIndex": 1, "itemsPerPage": users.len(),
        "Resources": users
    })
}

fn new_user(ext: &str, name: &str) -> User {
    User {
        external_id: Some(ext.into()),
        user_name: Some(name.into()),
        display_name: Some("X".into()),
        ..User::default()
    }
}

async fn token_requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .count()
}

async fn requests(server: &MockServer, m: &str, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == p)
        .count()
}

#[tokio::test]
async fn token_is_fetched_once_and_sent_as_bearer() {
    let server = server_with_token(3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users/u1"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", "\"7\"")
                .set_body_json(user_json("u1", "e1", "a@b.com")),
        )
        .mount(&server)
        .await;
    let (api, _) = api(&server, opts());
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let api = api.clone();
        set.spawn(async move { api.get_user(None, "u1").await });
    }
    while let Some(r) = set.join_next().await {
        let v = r.unwrap().unwrap();
        assert_eq!(v.etag.as_deref(), Some("\"7\""));
        assert_eq!(v.value.id.as_deref(), Some("u1"));
    }
    assert_eq!(
        token_requests(&server).await,
        1,
        "single-flight token fetch"
    );
    let s = api.stats();
    assert_eq!((s.get, s.token, s.retries), (20, 1, 0));
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries() {
    let server = server_with_token(3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users/u1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "message": "expired", "code": "credentials.expired", "status": 401
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json("u1", "e1", "a@b.com")))
        .mount(&server)
        .await;
    let (api, rec) = api(&server, opts());
    let v = api.get_user(Some(7), "u1").await.unwrap();
    assert_eq!(v.attempts, 2);
    assert_eq!(token_requests(&server).await, 2);
    let calls = rec.0.lock().clone();
    let outcomes: Vec<_> = calls
        .iter()
        .map(|c| (c.method, c.status, c.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            ("POST", Some(200), "ok"),
            ("GET", Some(401), "retry"),
            ("POST", Some(200), "ok"),
            ("GET", Some(200), "ok"),
        ]
    );
    assert!(
        calls
            .iter()
            .all(|c| c.path != "/oauth/token" || c.row.is_none())
    );
    assert_eq!(calls[1].row, Some(7));
}

#[tokio::test]
async fn repeated_401_opens_the_circuit_and_fails_fast() {
    let server = server_with_token(3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users/u1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let (api, _) = api(&server, opts());
    for _ in 0..3 {
        let err = api.get_user(None, "u1").await.unwrap_err();
        assert_eq!(err.status(), Some(401));
    }
    let sent = requests(&server, "GET", "/api/v2/scim/v2/users/u1").await;
    let err = api.get_user(None, "u1").await.unwrap_err();
    assert!(matches!(err, ApiError::CircuitOpen { .. }), "{err:?}");
    assert!(err.stops_run());
    assert_eq!(err.kind(), ErrorKind::CircuitOpen);
    assert_eq!(
        requests(&server, "GET", "/api/v2/scim/v2/users/u1").await,
        sent
    );
    assert!(api.stats().circuit_open);
}

#[tokio::test]
async fn refused_credentials_stop_the_run_without_leaking_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "description": "client not found"
        })))
        .mount(&server)
        .await;
    let (api, rec) = api(&server, opts());
    let err = api.get_user(None, "u1").await.unwrap_err();
    assert!(err.stops_run(), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Auth);
    let text = format!("{err} {err:?} {:?}", rec.0.lock());
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    let err = api.get_user(None, "u1").await.unwrap_err();
    assert!(matches!(err, ApiError::CircuitOpen { .. }));
    assert_eq!(token_requests(&server).await, 1);
}

#[tokio::test]
async fn a_429_pauses_for_retry_after_then_succeeds() {
    let server = server_with_token(3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users/u1"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({
                    "message": "Rate limit exceeded, retry in 1 seconds",
                    "code": "too.many.requests", "status": 429
                })),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json("u1", "e1", "a@b.com")))
        .mount(&server)
        .await;
    let (api, _) = api(&server, opts());
    let v = api.get_user(None, "u1").await.unwrap();
    assert_eq!(v.attempts, 2);
    let s = api.stats();
    assert_eq!((s.status_429, s.retries, s.pauses), (1, 1, 1));
}

#[tokio::test]
async fn a_5xx_is_retried_and_4xx_is_not() {
    let server = server_with_token(3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users/u1"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json("u1", "e1", "a@b.com")))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/api/v2/scim/v2/users/u1"))
        .and(header("if-match", "\"3\""))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "400", "scimType": "invalidVers", "detail": "version mismatch"
        })))
        .mount(&server)
        .await;
    let (api, _) = api(&server, opts());
    assert_eq!(api.get_user(None, "u1").await.unwrap().attempts, 3);
    let ops = vec![PatchOperation::replace("title", json!("Boss"))];
    let err = api
        .patch_user(None, "u1", ops, Some("\"3\""))
        .await
        .unwrap_err();
    assert!(err.is_version_conflict(), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.to_string(), "HTTP 400 (invalidVers): version mismatch");
    assert_eq!(
        requests(&server, "PATCH", "/api/v2/scim/v2/users/u1").await,
        1
    );
}

#[tokio::test]
async fn the_run_budget_caps_retries() {
    let server = server_with_token(3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users/u1"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let (api, _) = api(
        &server,
        ApiOptions {
            retry_budget: 2,
            ..opts()
        },
    );
    let err = api.get_user(None, "u1").await.unwrap_err();
    assert_eq!((err.kind(), err.attempts()), (ErrorKind::ServerError, 3));
    let err = api.get_user(None, "u1").await.unwrap_err();
    assert_eq!(err.attempts(), 1, "budget spent: no more retries");
}

#[tokio::test]
async fn a_create_lost_to_a_5xx_is_adopted_not_reposted() {
    let server = server_with_token(3600).await;
    // The POST "fails" with 500, but the user exists afterwards.
    Mock::given(method("POST"))
        .and(path("/api/v2/scim/v2/users"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users"))
        .and(query_param("filter", "externalId eq \"e\\\"1\""))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(list_json(vec![user_json("u9", "e\"1", "a@b.com")])),
        )
        .mount(&server)
        .await;
    let (api, _) = api(&server, opts());
    let created = api
        .create_user(Some(3), &new_user("e\"1", "a@b.com"))
        .await
        .unwrap();
    assert!(created.adopted);
    assert_eq!(created.user.value.id.as_deref(), Some("u9"));
    assert_eq!(created.user.etag.as_deref(), Some("\"1\""));
    assert_eq!(requests(&server, "POST", "/api/v2/scim/v2/users").await, 1);
    assert_eq!(api.stats().adopted, 1);
}

#[tokio::test]
async fn a_timed_out_create_then_409_is_adopted_when_external_id_matches() {
    let server = server_with_token(3600).await;
    // First POST is slow (times out); the lookup misses (not committed yet); the
    // second POST gets 409; the lookup after it finds the user.
    Mock::given(method("POST"))
        .and(path("/api/v2/scim/v2/users"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(user_json("u1", "e1", "a@b.com"))
                .set_delay(Duration::from_secs(3)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/scim/v2/users"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "409", "scimType": ErrorKind::Uniqueness, "detail": "userName in use"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list_json(vec![])))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(list_json(vec![user_json("u1", "e1", "a@b.com")])),
        )
        .mount(&server)
        .await;
    let (api, rec) = api(
        &server,
        ApiOptions {
            timeout: Duration::from_millis(300),
            ..opts()
        },
    );
    let created = api
        .create_user(None, &new_user("e1", "a@b.com"))
        .await
        .unwrap();
    assert!(created.adopted);
    assert_eq!(created.user.value.id.as_deref(), Some("u1"));
    let kinds: Vec<_> = rec
        .0
        .lock()
        .iter()
        .filter(|c| c.path != "/oauth/token")
        .map(|c| (c.method, c.status, c.outcome))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("POST", None, "retry"),
            ("GET", Some(200), "ok"),
            ("POST", Some(409), "failed"),
            ("GET", Some(200), "ok"),
        ]
    );
}

#[tokio::test]
async fn a_409_on_a_first_post_is_a_uniqueness_error() {
    let server = server_with_token(3600).await;
    Mock::given(method("POST"))
        .and(path("/api/v2/scim/v2/users"))
        .and(header_exists("content-type"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "409", "scimType": ErrorKind::Uniqueness, "detail": "userName in use"
        })))
        .mount(&server)
        .await;
    let (api, _) = api(&server, opts());
    let err = api
        .create_user(None, &new_user("e1", "a@b.com"))
        .await
        .unwrap_err();
    assert!(err.is_uniqueness());
    assert!(!err.is_version_conflict());
    assert_eq!(requests(&server, "GET", "/api/v2/scim/v2/users").await, 0);
}

#[tokio::test]
async fn rate_headers_lower_the_pace() {
    let server = server_with_token(3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/groups"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("inin-ratelimit-allowed", "180")
                .insert_header("inin-ratelimit-count", "1")
                .insert_header("inin-ratelimit-reset", "60")
                .set_body_json(list_json(vec![])),
        )
        .mount(&server)
        .await;
    let (api, _) = api(
        &server,
        ApiOptions {
            pace: Pace::Fixed(6000),
            ..opts()
        },
    );
    api.list_groups(1, 25, None).await.unwrap();
    // 180 less the limiter's 2 % headroom.
    assert_eq!(api.stats().current_rate, Some(176));
}

#[tokio::test]
async fn observer_never_sees_token_or_secret() {
    let server = server_with_token(3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users"))
        .respond_with(move |req: &WmRequest| {
            // Echo the request headers back, as a hostile server might.
            let echoed = format!("{:?}", req.headers);
            ResponseTemplate::new(400).set_body_string(echoed)
        })
        .mount(&server)
        .await;
    let (api, rec) = api(&server, opts());
    let err = api
        .find_users(Some(1), "userName eq \"x\"")
        .await
        .unwrap_err();
    let all = format!("{:?} {err}", rec.0.lock());
    assert!(!all.contains(SECRET), "{all}");
    assert!(!all.contains(TOKEN), "{all}");
    assert!(all.contains("Bearer ***"), "{all}");
    let records = rec.0.lock().clone();
    for c in &records {
        assert!(!c.path.contains(TOKEN));
    }
    assert_eq!(
        records.last().unwrap().path,
        "/users?filter=userName+eq+%22x%22"
    );
}

#[tokio::test]
async fn list_all_users_pages_through_the_total() {
    let server = server_with_token(3600).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/scim/v2/users"))
        .respond_with(|req: &WmRequest| {
            let q: HashMap<String, String> = req.url.query_pairs().into_owned().collect();
            let start: usize = q["startIndex"].parse().unwrap();
            let count: usize = q["count"].parse().unwrap();
            assert_eq!(q["attributes"], "userName,externalId");
            let total = 60;
            let users: Vec<_> = (start..(start + count).min(total + 1))
                .map(|i| user_json(&format!("u{i}"), &format!("e{i}"), &format!("u{i}@x.com")))
                .collect();
            let mut body = list_json(users);
            body["totalResults"] = json!(total);
            body["startIndex"] = json!(start);
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(&server)
        .await;
    let (api, _) = api(&server, opts());
    let (users, pages) = api
        .list_all_users(25, Some("userName,externalId"), None)
        .await
        .unwrap();
    assert_eq!(pages, 3);
    let mut ids: Vec<_> = users.iter().map(|u| u.id.clone().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 60);
}

#[test]
fn a_bad_url_is_a_setup_error() {
    let t = Target::emulator("not a url", "id", SECRET);
    let err = Api::new(&t, opts(), Arc::new(NoObserver)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Setup);
    assert!(!err.to_string().contains(SECRET));
}
