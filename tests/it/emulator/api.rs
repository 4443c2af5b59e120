//! Auth, users CRUD, errors, groups, versions, discovery and platform endpoints.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{Emu, assert_platform_error, assert_scim_error, client, user};
use scimport::emulator::{EmulatorConfig, UserState, spawn};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GEN: &str = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";

#[tokio::test]
async fn token_by_basic_or_form_and_wrong_credentials() {
    let h = spawn(EmulatorConfig::for_tests()).await.unwrap();
    let http = client();
    let url = format!("{}/oauth/token", h.url());
    let r = http
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "test-client"),
            ("client_secret", "test-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 86400);
    let r = http
        .post(&url)
        .basic_auth("test-client", Some("nope"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");
    let r = http
        .post(&url)
        .basic_auth("test-client", Some("test-secret"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    h.shutdown().await;
}

#[tokio::test]
async fn api_needs_a_valid_unexpired_bearer() {
    let e = Emu::start().await;
    let url = format!("{}/users", e.handle.scim_url());
    let r = e.http.get(&url).send().await.unwrap();
    assert!(r.headers().contains_key("inin-ratelimit-allowed"));
    assert_platform_error(r, 401, "authentication.required").await;
    let r = e
        .http
        .get(&url)
        .bearer_auth("made-up")
        .send()
        .await
        .unwrap();
    assert_platform_error(r, 401, "bad.credentials").await;
    assert_eq!(e.get("/users").await.status(), 200);

    let cfg = EmulatorConfig {
        token_ttl_secs: 0,
        ..EmulatorConfig::for_tests()
    };
    let short = Emu::with(cfg).await;
    let r = short.get("/users").await;
    assert_platform_error(r, 401, "credentials.expired").await;
}

#[tokio::test]
async fn create_get_replace_delete_user() {
    let e = Emu::start().await;
    let created = e
        .create(json!({
            "userName": "Ana.Lima@example.com", "displayName": "Ana Lima", "externalId": "EMP-1",
            "title": "Agent", "password": "s3cret-pass",
            "emails": [{"value": "ana.desk@example.com", "type": "work"}],
            "phoneNumbers": [{"value": "+14155550123", "type": "work"}, {"value": "tel:+14155550199;ext=2044", "type": "work2"}],
            "roles": [{"value": "Agent"}],
            ENT: {"department": "Support", "division": "EMEA", "dateHire": "2023-04-17T00:00:00Z"},
            GEN: {"routingSkills": [{"name": "Billing", "proficiency": 4}],
                  "routingLanguages": [{"name": "Portuguese", "proficiency": 5}],
                  "externalIds": [{"authority": "microsoftteams", "value": "29:1a"}]}
        }))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["active"], true);
    assert!(created.get("password").is_none());
    assert_eq!(
        created["emails"][0],
        json!({"value": "Ana.Lima@example.com", "type": "other", "primary": true})
    );
    assert_eq!(
        created[GEN]["externalIds"][0],
        json!({"authority": "x-pc:scimv2:v1", "value": "EMP-1"})
    );
    assert_eq!(created[ENT]["dateHire"], "2023-04-17");
    let roles: Vec<&str> = created["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"employee") && roles.contains(&"Agent"),
        "{roles:?}"
    );
    assert_eq!(created["meta"]["version"], "1");
    assert_eq!(
        created["meta"]["location"],
        format!("{}/users/{id}", e.handle.scim_url())
    );

    // Location and ETag on create.
    let r = e.send_json(Method::POST, "/users", user("bob")).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["etag"], "\"1\"");
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/api/v2/scim/v2/users/")
    );

    let r = e.get(&format!("/Users/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"1\"");

    // PUT replaces: title left out is cleared, read-only parts ignored.
    let mut body = created.clone();
    body.as_object_mut().unwrap().remove("title");
    body["displayName"] = json!("Ana M. Lima");
    body["id"] = json!("ignored");
    let r = e
        .send_json(Method::PUT, &format!("/users/{id}"), body)
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["displayName"], "Ana M. Lima");
    assert!(v.get("title").is_none());
    assert_eq!(v["id"], id);
    assert_eq!(v["meta"]["version"], "2");

    let r = e
        .req(Method::DELETE, &format!("/users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_platform_error(e.get(&format!("/users/{id}")).await, 404, "not.found").await;
    let r = e
        .req(Method::DELETE, &format!("/users/{id}"))
        .send()
        .await
        .unwrap();
    assert_platform_error(r, 404, "not.found").await;
    // The userName is reusable after a delete; the new user gets a new id.
    let again = e
        .create(json!({"userName": "ana.lima@example.com", "displayName": "Ana"}))
        .await;
    assert_ne!(again["id"], json!(id));
    let users = e.handle.users();
    assert_eq!(
        users
            .iter()
            .filter(|u| u.state == UserState::Deleted)
            .count(),
        1
    );
    assert_eq!(e.handle.stats().users.deleted, 1);
}

#[tokio::test]
async fn uniqueness_is_a_scim_409() {
    let e = Emu::start().await;
    e.create(user("carl")).await;
    let mut dup = user("other");
    dup["userName"] = json!("CARL@example.com");
    assert_scim_error(
        e.send_json(Method::POST, "/users", dup).await,
        409,
        "uniqueness",
    )
    .await;
    let mut dup = user("other2");
    dup["externalId"] = json!("ext-carl");
    assert_scim_error(
        e.send_json(Method::POST, "/users", dup).await,
        409,
        "uniqueness",
    )
    .await;
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let e = Emu::start().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"displayName": "x"}), "userName"),
        (
            json!({"userName": "not-an-email", "displayName": "x"}),
            "userName",
        ),
        (json!({"userName": "a@example.com"}), "displayName"),
        (
            json!({"userName": "a@example.com", "displayName": "x", "phoneNumbers": [{"value": "555-1234", "type": "work"}]}),
            "phoneNumbers",
        ),
        (
            json!({"userName": "a@example.com", "displayName": "x", "roles": [{"value": "Wizard"}]}),
            "roles",
        ),
        (
            json!({"userName": "a@example.com", "displayName": "x", ENT: {"division": "Mars"}}),
            "division",
        ),
        (
            json!({"userName": "a@example.com", "displayName": "x", ENT: {"manager": {"value": "00000000-0000-4000-8000-000000000000"}}}),
            "manager",
        ),
        (
            json!({"userName": "a@example.com", "displayName": "x", GEN: {"routingSkills": [{"name": "billing", "proficiency": 1}]}}),
            "routingSkills",
        ),
        (
            json!({"userName": "a@example.com", "displayName": "x", GEN: {"routingSkills": [{"name": "Billing", "proficiency": 6}]}}),
            "routingSkills",
        ),
        (
            json!({"userName": "a@example.com", "displayName": "x", GEN: {"routingLanguages": [{"name": "Klingon", "proficiency": 1}]}}),
            "routingLanguages",
        ),
        (
            json!({"userName": "a@example.com", "displayName": "x", GEN: {"routingSkills":
            (0..51).map(|_| json!({"name": "Billing", "proficiency": 1})).collect::<Vec<_>>()}}),
            "routingSkills",
        ),
    ];
    for (body, field) in cases {
        let v = assert_scim_error(
            e.send_json(Method::POST, "/users", body.clone()).await,
            400,
            "invalidValue",
        )
        .await;
        assert!(
            v["message"].as_str().unwrap().contains(field),
            "{body} -> {v}"
        );
    }
    assert_eq!(e.handle.users().len(), 0);
}

#[tokio::test]
async fn bad_requests_get_genesys_shaped_errors() {
    let cfg = EmulatorConfig {
        max_body_bytes: 2_000,
        ..EmulatorConfig::for_tests()
    };
    let e = Emu::with(cfg).await;
    let r = e
        .req(Method::POST, "/users")
        .header("content-type", "application/json")
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    assert_platform_error(r, 400, "bad.request").await;
    let r = e
        .req(Method::POST, "/users")
        .header("content-type", "text/plain")
        .body(user("x").to_string())
        .send()
        .await
        .unwrap();
    assert_platform_error(r, 415, "unsupported.media.type").await;
    let mut big = user("big");
    big["title"] = json!("x".repeat(5_000));
    let r = e.send_json(Method::POST, "/users", big).await;
    assert_platform_error(r, 413, "request.entity.too.large").await;
    assert_platform_error(e.get("/nosuch").await, 404, "not.found").await;
    assert_platform_error(e.get("/api/v2/elsewhere").await, 404, "not.found").await;
    assert_platform_error(e.get("/users/not-a-uuid").await, 404, "not.found").await;
    assert_platform_error(
        e.get("/users/7b0e3c1e-0000-4000-8000-000000000000").await,
        404,
        "not.found",
    )
    .await;
    let r = e
        .req(Method::GET, "/users")
        .query(&[("filter", "title co \"x\"")])
        .send()
        .await
        .unwrap();
    assert_scim_error(r, 400, "invalidFilter").await;
    let r = e
        .req(Method::GET, "/users")
        .query(&[("count", "lots")])
        .send()
        .await
        .unwrap();
    assert_platform_error(r, 400, "bad.request").await;
    // Groups cannot be created or deleted.
    let r = e
        .send_json(Method::POST, "/groups", json!({"displayName": "New"}))
        .await;
    assert_platform_error(r, 405, "method.not.allowed").await;
    // Still serving after all of that.
    assert_eq!(e.get("/users").await.status(), 200);
}

#[tokio::test]
async fn legacy_family_and_case_insensitive_segments() {
    let e = Emu::start().await;
    let u = e.create(user("dora")).await;
    let id = u["id"].as_str().unwrap();
    for path in [
        format!("/api/v2/scim/users/{id}"),
        format!("/api/v2/scim/Users/{id}"),
        format!("/api/v2/scim/v2/USERS/{id}"),
    ] {
        let r = e.get(&path).await;
        assert_eq!(r.status(), 200, "{path}");
    }
    assert_eq!(
        e.get("/api/v2/scim/ServiceProviderConfig").await.status(),
        200
    );
}

#[tokio::test]
async fn get_by_id_projection_and_odd_inputs_never_break_the_server() {
    let e = Emu::start().await;
    let u = e.create(user("proj")).await;
    let id = u["id"].as_str().unwrap();
    let r = e
        .req(Method::GET, &format!("/users/{id}"))
        .query(&[(
            "attributes",
            "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds",
        )])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["id"], id);
    assert!(v.get("displayName").is_none());
    assert_eq!(v[GEN]["externalIds"][0]["authority"], "x-pc:scimv2:v1");
    let odd = [
        "urn:ietf:params:scim:schemas:core:2.0:Usé eq x",
        "userName eq \"\u{1F600}\"",
        "[",
        "externalIds[authority eq \"a\" and value eq ]",
        "\u{0}",
    ];
    for f in odd {
        let r = e
            .req(Method::GET, "/users")
            .query(&[
                ("filter", f),
                ("attributes", "é,urn:ietf:params:scim:schemas:core:2.0:Usé"),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == 200 || r.status() == 400,
            "{f}: {}",
            r.status()
        );
    }
    for path in [
        "urn:ietf:params:scim:schemas:core:2.0:Usé",
        "émails[type eq \"work\"].value",
        "members[",
        "",
    ] {
        let r = e
            .patch(
                &format!("/users/{id}"),
                json!([{"op": "replace", "path": path, "value": "x"}]),
            )
            .await;
        assert_eq!(r.status(), 400, "{path}");
    }
    let r = e
        .req(Method::PATCH, &format!("/users/{id}"))
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_platform_error(r, 400, "bad.request").await;
    assert_eq!(e.get(&format!("/users/{id}")).await.status(), 200);
}
