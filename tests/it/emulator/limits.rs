//! Issue 15 (fidelity), the emulator's limits over HTTP: permissions per OAuth client,
//! page sizes (429 on untrimmed pages above 25, `filter.maxResults`), exactly the
//! documented strict filters, and paging that stays right across state changes.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{Emu, assert_platform_error, assert_scim_error, list, names, user};
use scimport::emulator::{EmulatorConfig, LargePages};

const GEN: &str = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";

fn denying(perms: &[&str]) -> EmulatorConfig {
    EmulatorConfig {
        deny: perms.iter().map(|p| p.to_string()).collect(),
        ..EmulatorConfig::for_tests()
    }
}

/// The permission list a `missing.permissions` message names.
async fn assert_missing(r: reqwest::Response, permission: &str) {
    let v = assert_platform_error(r, 403, "missing.permissions").await;
    let msg = v["message"].as_str().unwrap_or_default();
    assert!(msg.contains(&format!("[{permission}]")), "{v}");
}

#[tokio::test]
async fn issue_15_deny_user_add_refuses_every_create() {
    let e = Emu::with(denying(&["directory:user:add"])).await;
    let r = e.send_json(Method::POST, "/users", user("ana")).await;
    assert_missing(r, "directory:user:add").await;
    // Reads need no permission.
    assert_eq!(list(&e, &[]).await["totalResults"], 0);
}

#[tokio::test]
async fn issue_15_deny_skill_assign_refuses_only_skill_changes() {
    let e = Emu::with(denying(&["routing:skill:assign"])).await;
    let plain = e.create(user("plain")).await;
    let mut skilled = user("skilled");
    skilled[GEN] = json!({"routingSkills": [{"name": "Billing", "proficiency": 3}]});
    let r = e.send_json(Method::POST, "/users", skilled).await;
    assert_missing(r, "routing:skill:assign").await;
    let id = plain["id"].as_str().unwrap();
    let r = e
        .patch(
            &format!("/users/{id}"),
            json!([{"op": "replace", "path": "title", "value": "Agent"}]),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = e
        .patch(
            &format!("/users/{id}"),
            json!([{"op": "replace", "path": format!("{GEN}:routingSkills"),
                    "value": [{"name": "Sales", "proficiency": 2}]}]),
        )
        .await;
    assert_missing(r, "routing:skill:assign").await;
    // The refused PATCH changed nothing.
    let v: Value = e.get(&format!("/users/{id}")).await.json().await.unwrap();
    assert_eq!(v["title"], "Agent");
    assert!(v[GEN].get("routingSkills").is_none(), "{v}");
}

#[tokio::test]
async fn issue_15_groups_and_deletes_need_their_permissions() {
    let e = Emu::with(denying(&["directory:group:edit", "directory:user:delete"])).await;
    let u = e.create(user("gone")).await;
    assert_missing(e.get("/groups").await, "directory:group:edit").await;
    let r = e
        .req(
            Method::DELETE,
            &format!("/users/{}", u["id"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    assert_missing(r, "directory:user:delete").await;
}

#[tokio::test]
async fn issue_15_tenant_file_grants_per_client() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant.json");
    let mut file = serde_json::to_value(scimport::emulator::TenantFile::default()).unwrap();
    file["clients"] = json!({"test-client": ["directory:user:edit"]});
    std::fs::write(&path, file.to_string()).unwrap();
    let e = Emu::with(EmulatorConfig {
        tenant: Some(path),
        ..EmulatorConfig::for_tests()
    })
    .await;
    let r = e.send_json(Method::POST, "/users", user("ana")).await;
    assert_missing(r, "directory:user:add").await;
    assert_missing(e.get("/groups").await, "directory:group:edit").await;
}

#[tokio::test]
async fn issue_15_untrimmed_pages_above_25_get_429() {
    let e = Emu::with(EmulatorConfig {
        seed_users: 30,
        seed: Some(1),
        ..EmulatorConfig::for_tests()
    })
    .await;
    assert_eq!(list(&e, &[("count", "25")]).await["itemsPerPage"], 25);
    let r = e.get("/users?count=26").await;
    assert!(r.headers().get("retry-after").is_some());
    let v = assert_platform_error(r, 429, "too.many.requests").await;
    assert!(v["message"].as_str().unwrap().contains("25"), "{v}");
    // Trimmed pages are served.
    let v = list(&e, &[("count", "30"), ("attributes", "userName")]).await;
    assert_eq!(v["itemsPerPage"], 30);
    let v = list(&e, &[("count", "30"), ("excludedAttributes", "roles")]).await;
    assert_eq!(v["itemsPerPage"], 30);
    // Groups follow the same rule.
    let r = e.get("/groups?count=26").await;
    assert_platform_error(r, 429, "too.many.requests").await;
}

#[tokio::test]
async fn issue_15_large_pages_allow_serves_them_but_max_results_holds() {
    let e = Emu::with(EmulatorConfig {
        seed_users: 30,
        seed: Some(1),
        large_pages: LargePages::Allow,
        ..EmulatorConfig::for_tests()
    })
    .await;
    assert_eq!(list(&e, &[("count", "30")]).await["itemsPerPage"], 30);
    let spc: Value = e.get("/serviceproviderconfig").await.json().await.unwrap();
    let max = spc["filter"]["maxResults"].as_u64().unwrap();
    let ok = list(&e, &[("count", &max.to_string())]).await;
    assert_eq!(ok["itemsPerPage"], 30);
    let r = e
        .req(Method::GET, "/users")
        .query(&[
            ("count", (max + 1).to_string()),
            ("attributes", "id".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_scim_error(r, 400, "tooMany").await;
}

#[tokio::test]
async fn issue_15_strict_filters_are_exactly_the_documented_list() {
    let e = Emu::start().await;
    let boss = e.create(user("boss")).await;
    let boss_id = boss["id"].as_str().unwrap();
    let mut w = user("worker");
    w["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"manager": {"value": boss_id}});
    e.create(w).await;
    let rfc_forms = [
        "emails.value eq \"worker@example.com\"".to_string(),
        "emails eq \"worker@example.com\"".to_string(),
        format!("manager.value eq \"{boss_id}\""),
    ];
    for f in &rfc_forms {
        let r = e
            .req(Method::GET, "/users")
            .query(&[("filter", f)])
            .send()
            .await
            .unwrap();
        assert_scim_error(r, 400, "invalidFilter").await;
    }
    // The documented spellings still work.
    assert_eq!(
        names(&list(&e, &[("filter", "email eq worker@example.com")]).await),
        ["worker@example.com"]
    );
    assert_eq!(
        names(&list(&e, &[("filter", &format!("manager eq {boss_id}"))]).await),
        ["worker@example.com"]
    );
    // --lenient-filters keeps the RFC grammar.
    let lenient = Emu::with(EmulatorConfig {
        lenient_filters: true,
        ..EmulatorConfig::for_tests()
    })
    .await;
    lenient.create(user("worker")).await;
    assert_eq!(
        names(&list(&lenient, &[("filter", &rfc_forms[0])]).await),
        ["worker@example.com"]
    );
}

#[tokio::test]
async fn issue_15_pages_stay_right_across_deactivation_and_deletion() {
    let e = Emu::with(EmulatorConfig {
        seed_users: 60,
        seed: Some(3),
        ..EmulatorConfig::for_tests()
    })
    .await;
    let first = list(&e, &[("count", "25")]).await;
    let ids: Vec<String> = first["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    // Deactivate the 3rd, delete the 5th.
    let r = e
        .patch(
            &format!("/users/{}", ids[2]),
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = e
        .req(Method::DELETE, &format!("/users/{}", ids[4]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let created = e.create(user("newest")).await;
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let p = list(&e, &[("startIndex", &start.to_string()), ("count", "25")]).await;
        assert_eq!(p["totalResults"], 59);
        let n = p["itemsPerPage"].as_u64().unwrap();
        seen.extend(
            p["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string()),
        );
        if n == 0 {
            break;
        }
        start += n;
    }
    assert_eq!(seen.len(), 59);
    // Creation order, without the deactivated and the deleted user.
    let expected: Vec<&String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2 && *i != 4)
        .map(|(_, id)| id)
        .collect();
    assert_eq!(seen[..23].iter().collect::<Vec<_>>(), expected);
    assert_eq!(seen.last().unwrap(), created["id"].as_str().unwrap());
    assert!(!seen.contains(&ids[2]) && !seen.contains(&ids[4]));
    // The last page alone, and the inactive list.
    let tail = list(&e, &[("startIndex", "59"), ("count", "25")]).await;
    assert_eq!(names(&tail), ["newest@example.com"]);
    let idle = list(&e, &[("filter", "active eq false")]).await;
    assert_eq!(idle["totalResults"], 1);
    assert_eq!(idle["Resources"][0]["id"], ids[2].as_str());
}

/// Slots the emulator's list pages have examined so far.
async fn page_slots_examined(e: &Emu) -> u64 {
    let stats: Value = super::harness::client()
        .get(format!("{}/emulator/stats", e.handle.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["page_slots_examined"].as_u64().unwrap()
}

#[tokio::test]
async fn issue_15_a_deep_page_costs_what_the_first_page_costs() {
    const N: usize = 50_000;
    let e = Emu::with(EmulatorConfig {
        seed_users: N as u64,
        seed: Some(5),
        ..EmulatorConfig::for_tests()
    })
    .await;
    let mut cost = Vec::new();
    for start in ["1", "49976"] {
        let before = page_slots_examined(&e).await;
        let page = list(&e, &[("startIndex", start), ("count", "25")]).await;
        assert_eq!(page["itemsPerPage"], 25, "page at {start}");
        cost.push(page_slots_examined(&e).await - before);
    }
    let depth = u64::from(usize::BITS - N.leading_zeros());
    // A page examines its 25 slots plus a tree descent, wherever it starts (a scan
    // from the start would examine about 50,000 slots for the deep page).
    for c in &cost {
        assert!(*c <= 25 + 2 * depth, "page cost {cost:?}");
    }
    // The inactive list is paged the same way.
    let before = page_slots_examined(&e).await;
    list(&e, &[("filter", "active eq false"), ("count", "25")]).await;
    assert!(page_slots_examined(&e).await - before <= 25 + 2 * depth);
}
