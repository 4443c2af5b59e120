//! Rate limit, faults, stats, tenant and state, discovery, platform endpoints, CLI.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{
    Emu, assert_platform_error, assert_scim_error, client, list, token_for, user,
};
use scimport::emulator::{EmulatorConfig, spawn};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GEN: &str = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";

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
    let v = list(&e, &[("count", "25")]).await;
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
    let v = list(&again, &[("count", "25")]).await;
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

#[test]
fn example_tenant_file_is_the_default_catalogue() {
    let path = super::super::common::fixture("tenant.json");
    let text = std::fs::read_to_string(path).unwrap();
    let file: scimport::emulator::TenantFile = serde_json::from_str(&text).unwrap();
    assert_eq!(file, scimport::emulator::TenantFile::default());
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
