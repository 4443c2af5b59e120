//! Filters, paging, projection, PATCH, groups and versions over HTTP.

use reqwest::Method;
use serde_json::{Value, json};

use super::harness::{Emu, assert_platform_error, assert_scim_error, list, names, user};
use scimport::emulator::{EmulatorConfig, VersionConflict};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GEN: &str = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";

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
