//! Filters, paging, PATCH, groups, versions, rate limit, faults, stats, tenant and
//! state, discovery and platform endpoints, the CLI.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{Emu, assert_platform_error, assert_scim_error, client, token_for, user};
use scimport::emulator::{EmulatorConfig, VersionConflict, spawn};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GEN: &str = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";

async fn list(e: &Emu, query: &[(&str, &str)]) -> Value {
    let r = e
        .req(Method::GET, "/users")
        .query(query)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{v}");
    v
}

fn names(v: &Value) -> Vec<String> {
    v["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn strict_filters_and_paging() {
    let e = Emu::start().await;
    let boss = e.create(user("boss")).await;
    let boss_id = boss["id"].as_str().unwrap();
    let mut worker = user("worker");
    worker[ENT] =
        json!({"manager": {"value": boss_id}, "employeeNumber": "0042", "division": "APAC"});
    worker[GEN] = json!({"externalIds": [{"authority": "microsoftteams", "value": "29:w"}]});
    worker["emails"] = json!([{"value": "desk@example.com", "type": "work"}]);
    e.create(worker).await;
    let mut idle = user("idle");
    idle["active"] = json!(false);
    e.create(idle).await;

    let one = |v: &Value| names(v);
    assert_eq!(
        one(&list(&e, &[("filter", "userName eq WORKER@example.com")]).await),
        ["worker@example.com"]
    );
    assert_eq!(
        one(&list(&e, &[("filter", "username eq \"worker@example.com\"")]).await),
        ["worker@example.com"]
    );
    assert_eq!(
        one(&list(&e, &[("filter", "externalId eq \"ext-worker\"")]).await),
        ["worker@example.com"]
    );
    assert_eq!(
        list(&e, &[("filter", "externalId eq \"EXT-WORKER\"")]).await["totalResults"],
        0
    );
    assert_eq!(
        one(&list(&e, &[("filter", &format!("manager eq {boss_id}"))]).await),
        ["worker@example.com"]
    );
    assert_eq!(
        one(&list(&e, &[("filter", "email eq desk@example.com")]).await),
        ["worker@example.com"]
    );
    assert_eq!(
        one(&list(&e, &[("filter", "division eq APAC")]).await),
        ["worker@example.com"]
    );
    assert_eq!(
        one(&list(&e, &[("filter", "employeeNumber eq \"0042\"")]).await),
        ["worker@example.com"]
    );
    assert_eq!(
        one(&list(&e, &[("filter", &format!("id eq \"{boss_id}\""))]).await),
        ["boss@example.com"]
    );
    assert_eq!(
        one(&list(&e, &[("filter", "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User:externalIds[authority eq \"microsoftteams\" and value eq \"29:w\"]")]).await),
        ["worker@example.com"]
    );
    // Without a filter only active users; inactive ones by filter (and by id).
    let all = list(&e, &[]).await;
    assert_eq!(all["totalResults"], 2);
    assert_eq!(
        one(&list(&e, &[("filter", "active eq false")]).await),
        ["idle@example.com"]
    );
    assert_eq!(
        one(&list(&e, &[("filter", "userName eq idle@example.com")]).await),
        ["idle@example.com"]
    );
    // Paging and count=0.
    let p = list(&e, &[("startIndex", "2"), ("count", "1")]).await;
    assert_eq!(
        (
            p["startIndex"].clone(),
            p["itemsPerPage"].clone(),
            p["totalResults"].clone()
        ),
        (json!(2), json!(1), json!(2))
    );
    assert_eq!(one(&p), ["worker@example.com"]);
    let z = list(&e, &[("count", "0")]).await;
    assert_eq!(z["totalResults"], 2);
    assert_eq!(z["Resources"], json!([]));
    // Projection.
    let v = list(
        &e,
        &[
            ("filter", "userName eq worker@example.com"),
            ("attributes", "displayName"),
        ],
    )
    .await;
    let u = &v["Resources"][0];
    assert!(u.get("displayName").is_some() && u.get("userName").is_some() && u.get("id").is_some());
    assert!(u.get("externalId").is_none() && u.get(ENT).is_none());
    let v = list(
        &e,
        &[
            ("filter", "userName eq worker@example.com"),
            ("excludedAttributes", "emails,roles"),
        ],
    )
    .await;
    assert!(v["Resources"][0].get("emails").is_none() && v["Resources"][0].get("roles").is_none());
    // Strict mode refuses other forms.
    for f in [
        "userName sw \"w\"",
        "title eq Agent",
        "userName eq a and active eq true",
        "meta.lastModified gt \"2020-01-01\"",
    ] {
        let r = e
            .req(Method::GET, "/users")
            .query(&[("filter", f)])
            .send()
            .await
            .unwrap();
        assert_scim_error(r, 400, "invalidFilter").await;
    }
}

#[tokio::test]
async fn lenient_filters_accept_the_rfc_grammar() {
    let e = Emu::with(EmulatorConfig {
        lenient_filters: true,
        ..EmulatorConfig::for_tests()
    })
    .await;
    for n in ["alpha", "beta", "gamma"] {
        e.create(user(n)).await;
    }
    let v = list(
        &e,
        &[(
            "filter",
            "userName sw \"a\" or (userName co \"mm\" and not (active eq false))",
        )],
    )
    .await;
    let mut got = names(&v);
    got.sort();
    assert_eq!(got, ["alpha@example.com", "gamma@example.com"]);
    let v = list(
        &e,
        &[(
            "filter",
            "emails[type eq \"other\" and value ew \"beta@example.com\"]",
        )],
    )
    .await;
    assert_eq!(names(&v), ["beta@example.com"]);
    let r = e
        .req(Method::GET, "/users")
        .query(&[("filter", "userName eq \"a\" and (")])
        .send()
        .await
        .unwrap();
    assert_scim_error(r, 400, "invalidFilter").await;
}

#[tokio::test]
async fn patch_over_http() {
    let e = Emu::start().await;
    let boss = e.create(user("chief")).await;
    let u = e.create(user("pat")).await;
    let path = format!("/users/{}", u["id"].as_str().unwrap());
    let r = e
        .patch(
            &path,
            json!([
                {"op": "Replace", "path": "title", "value": "Lead"},
                {"op": "add", "path": "emails[type eq \"work\"].value", "value": "pat.desk@example.com"},
                {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+447700900123"},
                {"op": "replace", "path": format!("{ENT}:department"), "value": "Claims"},
                {"op": "replace", "path": format!("{ENT}:manager"), "value": {"value": boss["id"]}},
                {"op": "replace", "path": format!("{GEN}:routingSkills"), "value": [{"name": "VIP", "proficiency": 2}]},
                {"op": "add", "path": format!("{GEN}:externalIds[authority eq \"zoomphone\"].value"), "value": "z-1"},
                {"op": "replace", "value": {"displayName": "Pat Q"}}
            ]),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["title"], "Lead");
    assert_eq!(v["displayName"], "Pat Q");
    assert_eq!(
        v["emails"][1],
        json!({"value": "pat.desk@example.com", "type": "work"})
    );
    assert_eq!(v["phoneNumbers"][0]["value"], "+447700900123");
    assert_eq!(v[ENT]["department"], "Claims");
    assert_eq!(v[ENT]["manager"]["value"], boss["id"]);
    assert_eq!(
        v[GEN]["routingSkills"],
        json!([{"name": "VIP", "proficiency": 2.0}])
    );
    assert_eq!(
        v[GEN]["externalIds"][1],
        json!({"authority": "zoomphone", "value": "z-1"})
    );
    // Deactivate, then the user is hidden from the default list.
    let r = e
        .patch(
            &path,
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(list(&e, &[]).await["totalResults"], 1);
    assert_eq!(e.get(&path).await.status(), 200);
    // externalId change moves the mirrored entry.
    let r = e
        .patch(
            &path,
            json!([{"op": "replace", "path": "externalId", "value": "ext-new"}]),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v[GEN]["externalIds"][0],
        json!({"authority": "x-pc:scimv2:v1", "value": "ext-new"})
    );
    // Errors.
    let bad = [
        (
            json!([{"op": "replace", "path": "id", "value": "x"}]),
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "q@example.com"}]),
            "mutability",
        ),
        (
            json!([{"op": "add", "path": "groups", "value": [{"value": "g"}]}]),
            "mutability",
        ),
        (json!([{"op": "remove"}]), "noTarget"),
        (
            json!([{"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "12"}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "path": format!("{GEN}:routingSkills"), "value": [{"name": "Nope", "proficiency": 1}]}]),
            "invalidValue",
        ),
        (
            json!([{"op": "replace", "path": "bogus[", "value": 1}]),
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            "invalidValue",
        ),
    ];
    for (ops, kind) in bad {
        assert_scim_error(e.patch(&path, ops.clone()).await, 400, kind).await;
    }
    let other = e.create(user("taken")).await;
    assert_scim_error(
        e.patch(
            &path,
            json!([{"op": "replace", "path": "userName", "value": other["userName"]}]),
        )
        .await,
        409,
        "uniqueness",
    )
    .await;
    assert_platform_error(
        e.patch(
            "/users/3b3c1e2d-0000-4000-8000-000000000000",
            json!([{"op": "replace", "path": "title", "value": "x"}]),
        )
        .await,
        404,
        "not.found",
    )
    .await;
}

#[tokio::test]
async fn groups_membership_is_by_user_id_and_shows_on_users() {
    let e = Emu::start().await;
    let a = e.create(user("ga")).await;
    let b = e.create(user("gb")).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let v: Value = e
        .req(Method::GET, "/Groups")
        .query(&[("filter", "displayName eq \"Tier 1\"")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["totalResults"], 1);
    let g = &v["Resources"][0];
    let gpath = format!("/groups/{}", g["id"].as_str().unwrap());
    let all: Value = e.get("/groups").await.json().await.unwrap();
    assert_eq!(all["totalResults"], 5);

    let r = e
        .patch(
            &gpath,
            json!([{"op": "add", "path": "members", "value": [{"value": a_id}, {"value": b_id}]}]),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["members"].as_array().unwrap().len(), 2);
    let u: Value = e.get(&format!("/users/{a_id}")).await.json().await.unwrap();
    assert_eq!(u["groups"][0]["value"], g["id"]);
    assert_eq!(u["groups"][0]["display"], "Tier 1");

    let r = e
        .patch(
            &gpath,
            json!([{"op": "remove", "path": format!("members[value eq \"{a_id}\"]")}]),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["members"],
        json!([{"value": b_id, "$ref": format!("{}/users/{b_id}", e.handle.scim_url()), "type": "User"}])
    );
    let u: Value = e.get(&format!("/users/{a_id}")).await.json().await.unwrap();
    assert!(u.get("groups").is_none());

    // PUT replaces members; unknown ids are refused.
    let r = e
        .send_json(
            Method::PUT,
            &gpath,
            json!({"displayName": "Tier 1", "members": [{"value": a_id}]}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["members"][0]["value"], a_id);
    let r = e
        .send_json(
            Method::PUT,
            &gpath,
            json!({"displayName": "Tier 1", "members": [{"value": "nobody"}]}),
        )
        .await;
    assert_scim_error(r, 400, "invalidValue").await;
    let r = e
        .send_json(Method::PUT, &gpath, json!({"members": []}))
        .await;
    assert_scim_error(r, 400, "invalidValue").await;
    // Deleting a user removes it from groups.
    e.req(Method::DELETE, &format!("/users/{a_id}"))
        .send()
        .await
        .unwrap();
    let v: Value = e.get(&gpath).await.json().await.unwrap();
    assert!(v.get("members").is_none(), "{v}");
    let r = e.req(Method::DELETE, &gpath).send().await.unwrap();
    assert_platform_error(r, 405, "method.not.allowed").await;
    assert_platform_error(
        e.get("/groups/00000000-0000-4000-8000-000000000000").await,
        404,
        "not.found",
    )
    .await;
}

#[tokio::test]
async fn versions_etags_and_conflict_modes() {
    for (mode, status) in [
        (VersionConflict::BadRequest, 400),
        (VersionConflict::Conflict, 409),
        (VersionConflict::PreconditionFailed, 412),
    ] {
        let e = Emu::with(EmulatorConfig {
            version_conflict: mode,
            ..EmulatorConfig::for_tests()
        })
        .await;
        let u = e.create(user("v")).await;
        let path = format!("/users/{}", u["id"].as_str().unwrap());
        let r = e
            .req(Method::GET, &path)
            .header("if-none-match", "\"1\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        let r = e
            .req(Method::GET, &path)
            .header("if-none-match", "\"0\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "T"}]});
        let r = e
            .req(Method::PATCH, &path)
            .header("content-type", "application/json")
            .header("if-match", "\"7\"")
            .body(ops.to_string())
            .send()
            .await
            .unwrap();
        assert_scim_error(r, status, "invalidVers").await;
        let r = e
            .req(Method::PATCH, &path)
            .header("content-type", "application/json")
            .header("if-match", "\"1\"")
            .body(ops.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["etag"], "\"2\"");
        let r = e
            .req(Method::DELETE, &path)
            .header("if-match", "\"1\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status);
        // Groups and the ServiceProviderConfig carry ETags too.
        let g: Value = e.get("/groups").await.json().await.unwrap();
        let gid = g["Resources"][0]["id"].as_str().unwrap().to_string();
        let r = e
            .req(Method::GET, &format!("/groups/{gid}"))
            .header("if-none-match", "\"1\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        let r = e
            .req(Method::GET, "/serviceproviderconfig")
            .header("if-none-match", "\"1\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
    }
}

#[tokio::test]
async fn rate_limit_per_client_with_headers() {
    let e = Emu::with(EmulatorConfig {
        rate_limit_per_minute: Some(3),
        ..EmulatorConfig::for_tests()
    })
    .await;
    for i in 1..=3 {
        let r = e.get("/users").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["inin-ratelimit-allowed"], "3");
        assert_eq!(r.headers()["inin-ratelimit-count"], i.to_string().as_str());
        assert!(r.headers().contains_key("inin-ratelimit-reset"));
    }
    let r = e.get("/users").await;
    assert_eq!(r.headers()["retry-after"], "20");
    assert_platform_error(r, 429, "too.many.requests").await;
    e.handle.set_rate_limit(None);
    assert_eq!(e.get("/users").await.status(), 200);
    assert_eq!(e.handle.stats().status["429"], 1);
}

#[tokio::test]
async fn fail_rate_answers_5xx_without_applying() {
    let e = Emu::with(EmulatorConfig {
        fail_rate: 1.0,
        seed: Some(3),
        ..EmulatorConfig::for_tests()
    })
    .await;
    for _ in 0..10 {
        let r = e.send_json(Method::POST, "/users", user("never")).await;
        let s = r.status().as_u16();
        assert!([500, 502, 503].contains(&s), "{s}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], json!(s));
    }
    assert!(e.handle.users().is_empty());
    // The token endpoint and stats are not subject to faults.
    token_for(&e.http, &e.handle).await;
    let r = e
        .http
        .get(format!("{}/emulator/stats", e.handle.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn drop_rate_closes_connections_before_or_after_applying() {
    let e = Emu::with(EmulatorConfig {
        drop_rate: 1.0,
        seed: Some(11),
        ..EmulatorConfig::for_tests()
    })
    .await;
    let mut errors = 0;
    for i in 0..12 {
        let sent = e
            .req(Method::POST, "/users")
            .header("content-type", "application/scim+json")
            .body(user(&format!("d{i}")).to_string())
            .send()
            .await;
        match sent {
            Err(_) => errors += 1,
            Ok(r) => panic!("expected a dropped connection, got {}", r.status()),
        }
    }
    assert_eq!(errors, 12);
    let stored = e.handle.users().len();
    // Drops happen both before and after applying the request.
    assert!(stored > 0 && stored < 12, "{stored} users stored");
    assert_eq!(e.handle.stats().dropped, 12);
}

#[tokio::test]
async fn latency_still_answers() {
    let e = Emu::with(EmulatorConfig {
        latency_ms: Some("1..3".parse().unwrap()),
        seed: Some(1),
        ..EmulatorConfig::for_tests()
    })
    .await;
    assert_eq!(e.get("/users").await.status(), 200);
}

#[tokio::test]
async fn stats_shape_and_reset() {
    let e = Emu::start().await;
    let u = e.create(user("s1")).await;
    e.create(user("s2")).await;
    let path = format!("/users/{}", u["id"].as_str().unwrap());
    e.patch(
        &path,
        json!([{"op": "replace", "path": "active", "value": false}]),
    )
    .await;
    e.get("/users/00000000-0000-4000-8000-000000000000").await;
    let url = format!("{}/emulator/stats", e.handle.url());
    let v: Value = e.http.get(&url).send().await.unwrap().json().await.unwrap();
    // The token request counts too: every request but /emulator/* does.
    assert_eq!(v["requests"]["POST"], 3);
    assert_eq!(v["requests"]["PATCH"], 1);
    assert_eq!(v["requests"]["GET"], 1);
    assert_eq!(v["requests"]["PUT"], 0);
    assert_eq!(v["requests"]["DELETE"], 0);
    assert_eq!(v["status"]["201"], 2);
    assert_eq!(v["status"]["200"], 2);
    assert_eq!(v["status"]["404"], 1);
    assert_eq!(
        v["users"],
        json!({"active": 1, "inactive": 1, "deleted": 0})
    );
    assert_eq!(
        serde_json::to_value(e.handle.stats()).unwrap()["users"],
        v["users"]
    );
    let r = e
        .http
        .post(format!("{}/emulator/reset", e.handle.url()))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let v: Value = e.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["requests"]["POST"], 0);
    assert_eq!(v["status"], json!({}));
    assert_eq!(v["users"]["active"], 1);
}

#[tokio::test]
async fn tenant_file_seed_users_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = dir.path().join("tenant.json");
    std::fs::write(
        &tenant,
        json!({"skills": ["Gardening"], "languages": ["Latin"], "roles": ["employee", "Gardener"],
               "groups": ["Greenhouse"], "divisions": ["Home"]})
        .to_string(),
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let cfg = EmulatorConfig {
        tenant: Some(tenant.clone()),
        seed_users: 50,
        seed: Some(5),
        state: Some(state.clone()),
        ..EmulatorConfig::for_tests()
    };
    let e = Emu::with(cfg.clone()).await;
    let v = list(&e, &[("count", "100")]).await;
    assert_eq!(v["totalResults"], 50);
    let first = v["Resources"][0].clone();
    assert_eq!(first[GEN]["routingSkills"][0]["name"], "Gardening");
    let mut u = user("g");
    u[GEN] = json!({"routingSkills": [{"name": "Billing", "proficiency": 1}]});
    assert_scim_error(
        e.send_json(Method::POST, "/users", u).await,
        400,
        "invalidValue",
    )
    .await;
    let mut u = user("g");
    u["roles"] = json!([{"value": "Gardener"}]);
    let created = e.create(u).await;
    let groups: Value = e.get("/groups").await.json().await.unwrap();
    assert_eq!(groups["Resources"][0]["displayName"], "Greenhouse");
    let skills: Value = e.get("/api/v2/routing/skills").await.json().await.unwrap();
    assert_eq!(skills["entities"][0]["name"], "Gardening");
    e.handle.shutdown().await;
    assert!(state.exists());

    // Same seed, same users; the state file brings back the created user too.
    let again = Emu::with(cfg).await;
    let v = list(&again, &[("count", "100")]).await;
    assert_eq!(v["totalResults"], 51);
    assert_eq!(v["Resources"][0]["id"], first["id"]);
    let r = again
        .get(&format!("/users/{}", created["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status(), 200);
    // Deterministic seeding without state.
    let a = Emu::with(EmulatorConfig {
        seed_users: 5,
        seed: Some(9),
        ..EmulatorConfig::for_tests()
    })
    .await;
    let b = Emu::with(EmulatorConfig {
        seed_users: 5,
        seed: Some(9),
        ..EmulatorConfig::for_tests()
    })
    .await;
    let ids = |h: &Emu| {
        h.handle
            .users()
            .into_iter()
            .map(|u| u.user.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&a), ids(&b));
    let bad = spawn(EmulatorConfig {
        tenant: Some(dir.path().join("missing.json")),
        ..EmulatorConfig::for_tests()
    })
    .await;
    assert!(bad.is_err());
}

#[tokio::test]
async fn discovery_endpoints() {
    let e = Emu::start().await;
    let v: Value = e.get("/schemas").await.json().await.unwrap();
    assert_eq!(v["totalResults"], 7);
    for id in [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        ENT,
        GEN,
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
        "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
        "urn:ietf:params:scim:schemas:core:2.0:Schema",
    ] {
        let r = e.get(&format!("/Schemas/{id}")).await;
        assert_eq!(r.status(), 200, "{id}");
        let s: Value = r.json().await.unwrap();
        assert!(!s["attributes"].as_array().unwrap().is_empty());
        assert!(s["meta"].get("version").is_none());
    }
    let core: Value = e
        .get("/schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await
        .json()
        .await
        .unwrap();
    let user_name = core["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["required"], true);
    assert_eq!(user_name["uniqueness"], "server");
    assert_platform_error(e.get("/schemas/urn:nope").await, 404, "not.found").await;
    let r = e
        .req(Method::GET, "/schemas")
        .query(&[("filter", "id eq x")])
        .send()
        .await
        .unwrap();
    assert_platform_error(r, 403, "not.authorized").await;
    let v: Value = e.get("/ResourceTypes").await.json().await.unwrap();
    assert_eq!(v["totalResults"], 5);
    let rt: Value = e.get("/resourcetypes/User").await.json().await.unwrap();
    assert_eq!(rt["schemaExtensions"].as_array().unwrap().len(), 2);
    assert_platform_error(e.get("/resourcetypes/Printer").await, 404, "not.found").await;
    let r = e.get("/serviceproviderconfig").await;
    assert_eq!(r.headers()["etag"], "\"1\"");
    let spc: Value = r.json().await.unwrap();
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], false);
}

#[tokio::test]
async fn platform_routing_skill_endpoints() {
    let e = Emu::start().await;
    let v: Value = e
        .req(Method::GET, "/api/v2/routing/skills")
        .query(&[("pageSize", "3"), ("pageNumber", "2")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["total"], 8);
    assert_eq!(v["pageCount"], 3);
    assert_eq!(v["entities"].as_array().unwrap().len(), 3);
    let v: Value = e
        .req(Method::GET, "/api/v2/routing/skills")
        .query(&[("name", "tech")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["entities"][0]["name"], "Technical Support");
    assert_eq!(v["total"], 1);
    let mut u = user("sk");
    u[GEN] = json!({"routingSkills": [{"name": "Sales", "proficiency": 3}, {"name": "Billing", "proficiency": 1}]});
    let u = e.create(u).await;
    let v: Value = e
        .get(&format!(
            "/api/v2/users/{}/routingskills",
            u["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["total"], 2);
    assert_eq!(v["entities"][0]["name"], "Billing");
    assert_eq!(v["entities"][1]["proficiency"], 3.0);
    let skills: Value = e
        .req(Method::GET, "/api/v2/routing/skills")
        .query(&[("name", "Sales")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["entities"][1]["id"], skills["entities"][0]["id"]);
    assert_platform_error(
        e.get("/api/v2/users/00000000-0000-4000-8000-000000000000/routingskills")
            .await,
        404,
        "not.found",
    )
    .await;
    let r = e
        .req(Method::GET, "/api/v2/routing/skills")
        .query(&[("pageSize", "0")])
        .send()
        .await
        .unwrap();
    assert_platform_error(r, 400, "bad.request").await;
}

#[tokio::test]
async fn cli_prints_listening_line_and_stops_on_sigterm() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--client-id",
            "cli",
            "--client-secret",
            "cli-secret",
            "--rate-limit",
            "off",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect(&line)
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"));
    let http = client();
    let r = http
        .post(format!("{url}/oauth/token"))
        .basic_auth("cli", Some("cli-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
