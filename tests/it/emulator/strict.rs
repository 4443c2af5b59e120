//! Issue 15: the emulator's user is as strict as Genesys's. No core `name`; unknown
//! attributes and schema URNs rejected (or dropped); only `work` and `other` emails;
//! a PATCH `remove` of a sub-attribute keeps the entry; 400 bodies in the platform
//! shape by default; `If-Match` compares strong tags only; a bare extension URN in
//! `attributes`/`excludedAttributes` selects or drops the whole extension.

use reqwest::Method;
use scimport::emulator::{EmulatorConfig, ErrorShape, UnknownAttributes};
use serde_json::{Value, json};

use super::harness::{Emu, assert_scim_error, user};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GEN: &str = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User";
const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:genesyscloud:2.0:User";

async fn ignoring() -> Emu {
    Emu::with(EmulatorConfig {
        unknown_attributes: UnknownAttributes::Ignore,
        ..EmulatorConfig::for_tests()
    })
    .await
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

/// Asserts a 400 invalidSyntax whose message names `what`.
async fn assert_names(r: reqwest::Response, what: &str) {
    let v = assert_scim_error(r, 400, "invalidSyntax").await;
    let message = v["message"].as_str().unwrap();
    assert!(message.contains(what), "{what} not named in {v}");
}

#[tokio::test]
async fn issue_15_core_name_is_not_part_of_the_user() {
    let e = Emu::start().await;
    let named = with(user("ana"), "name", json!({"givenName": "Ana"}));
    assert_names(
        e.send_json(Method::POST, "/users", named.clone()).await,
        "name",
    )
    .await;
    assert!(e.handle.users().is_empty());
    let u = e.create(user("ana")).await;
    let path = format!("/users/{}", u["id"].as_str().unwrap());
    let r = e
        .patch(
            &path,
            json!([{"op": "replace", "path": "name.givenName", "value": "Ana"}]),
        )
        .await;
    assert_names(r, "name").await;
    // The published schema agrees: a Genesys user has no `name`.
    let schema: Value = e
        .get("/schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await
        .json()
        .await
        .unwrap();
    let attrs: Vec<&str> = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert!(attrs.contains(&"displayName") && !attrs.contains(&"name"));

    // Under `ignore` it is accepted and dropped: never stored, never returned.
    let e = ignoring().await;
    let u = e.create(named).await;
    assert!(u.get("name").is_none(), "{u}");
    let path = format!("/users/{}", u["id"].as_str().unwrap());
    let r = e
        .patch(
            &path,
            json!([{"op": "add", "path": "name.familyName", "value": "Lima"}]),
        )
        .await;
    assert_eq!(r.status(), 200);
    let got: Value = e.get(&path).await.json().await.unwrap();
    assert!(got.get("name").is_none(), "{got}");
    assert!(e.handle.users()[0].user.name.is_none());
}

#[tokio::test]
async fn issue_15_unknown_attributes_and_schemas_are_rejected_by_name() {
    let e = Emu::start().await;
    let cases = [
        (
            with(user("a"), CUSTOM, json!({"costCenter": "1"})),
            "genesyscloud",
        ),
        (
            with(
                user("a"),
                "schemas",
                json!([CUSTOM, "urn:ietf:params:scim:schemas:core:2.0:User"]),
            ),
            "genesyscloud",
        ),
        (
            with(user("a"), "addresses", json!([{"locality": "Lisbon"}])),
            "addresses",
        ),
        (
            with(user("a"), ENT, json!({"costCenter": "1"})),
            "costCenter",
        ),
        (
            with(
                user("a"),
                "phoneNumbers",
                json!([{"type": "work", "value": "+14155550123", "display": "x"}]),
            ),
            "phoneNumbers.display",
        ),
    ];
    for (body, what) in &cases {
        assert_names(
            e.send_json(Method::POST, "/users", body.clone()).await,
            what,
        )
        .await;
    }
    assert!(e.handle.users().is_empty());
    let u = e.create(user("b")).await;
    let path = format!("/users/{}", u["id"].as_str().unwrap());
    let r = e
        .send_json(
            Method::PUT,
            &path,
            with(user("b"), "nickName", json!("Bee")),
        )
        .await;
    assert_names(r, "nickName").await;
    let r = e
        .patch(
            &path,
            json!([{"op": "add", "path": format!("{CUSTOM}:costCenter"), "value": "1"}]),
        )
        .await;
    assert_names(r, "genesyscloud").await;

    // `ignore`: the tutorials' customAttributes extension "works" and is dropped.
    let e = ignoring().await;
    for (i, (body, what)) in cases.into_iter().enumerate() {
        let body = with(body, "userName", json!(format!("a{i}@example.com")));
        let u = e
            .create(with(body, "externalId", json!(format!("ext-a{i}"))))
            .await;
        let shown = u.to_string();
        let what = what.split('.').next_back().unwrap();
        let key = if what == "genesyscloud" {
            what.to_string()
        } else {
            format!("\"{what}\"")
        };
        assert!(!shown.contains(&key), "{what} returned: {shown}");
    }
}

#[tokio::test]
async fn issue_15_emails_are_work_and_other_only() {
    let e = Emu::start().await;
    let bad = [
        (
            json!([{"type": "home", "value": "h@example.com"}]),
            "invalidValue",
        ),
        (json!([{"value": "h@example.com"}]), "invalidValue"),
        (
            json!([{"type": "work", "value": "w1@example.com"}, {"type": "work", "value": "w2@example.com"}]),
            "invalidValue",
        ),
        (
            json!([{"type": "work", "value": "w@example.com", "primary": true},
                   {"type": "other", "value": "a@example.com", "primary": true}]),
            "invalidValue",
        ),
        (
            json!([{"type": "other", "value": "not-me@example.com"}]),
            "mutability",
        ),
    ];
    for (emails, kind) in bad {
        let body = with(user("a"), "emails", emails.clone());
        let r = e.send_json(Method::POST, "/users", body).await;
        assert_scim_error(r, 400, kind).await;
    }
    assert!(e.handle.users().is_empty());
    // The `other` mirror echoed back (a PUT of a GET result) is fine; one primary shows.
    let u = e
        .create(with(
            user("a"),
            "emails",
            json!([{"type": "work", "value": "desk@example.com", "primary": true}]),
        ))
        .await;
    let primaries = u["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["primary"] == true)
        .count();
    assert_eq!(primaries, 1, "{u}");
    let path = format!("/users/{}", u["id"].as_str().unwrap());
    let r = e.send_json(Method::PUT, &path, u.clone()).await;
    assert_eq!(r.status(), 200);
    let r = e
        .patch(
            &path,
            json!([{"op": "add", "path": "emails[type eq \"home\"].value", "value": "h@example.com"}]),
        )
        .await;
    assert_scim_error(r, 400, "invalidValue").await;
    let r = e
        .patch(
            &path,
            json!([{"op": "replace", "path": "emails", "value": [{"type": "other", "value": "x@example.com"}]}]),
        )
        .await;
    assert_scim_error(r, 400, "mutability").await;
}

#[tokio::test]
async fn issue_15_remove_of_a_sub_attribute_keeps_the_entry() {
    let e = Emu::start().await;
    let u = e
        .create(with(
            user("p"),
            "phoneNumbers",
            json!([{"type": "mobile", "value": "+14155550123"}, {"type": "work", "value": "+14155550124"}]),
        ))
        .await;
    let path = format!("/users/{}", u["id"].as_str().unwrap());
    let r = e
        .patch(
            &path,
            json!([{"op": "remove", "path": "phoneNumbers[type eq \"mobile\"].value"}]),
        )
        .await;
    assert_eq!(r.status(), 200);
    let got: Value = e.get(&path).await.json().await.unwrap();
    assert_eq!(
        got["phoneNumbers"],
        json!([{"type": "mobile"}, {"type": "work", "value": "+14155550124"}])
    );
    let r = e
        .patch(
            &path,
            json!([{"op": "remove", "path": "phoneNumbers[type eq \"mobile\"]"}]),
        )
        .await;
    assert_eq!(r.status(), 200);
    let got: Value = e.get(&path).await.json().await.unwrap();
    assert_eq!(
        got["phoneNumbers"],
        json!([{"type": "work", "value": "+14155550124"}])
    );
}

#[tokio::test]
async fn issue_15_error_shape_of_400s() {
    let body = json!({"userName": "not-an-email", "displayName": "x"});
    // Default: the platform ErrorBody the Genesys spec declares for 400.
    let e = Emu::start().await;
    let r = e.send_json(Method::POST, "/users", body.clone()).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], json!(400), "{v}");
    assert_eq!(v["code"], "bad.request", "{v}");
    assert!(
        v.get("schemas").is_none() && v.get("scimType").is_none(),
        "{v}"
    );
    // ...but If-Match's 400 invalidVers stays a SCIM error.
    let u = e.create(user("v")).await;
    let path = format!("/users/{}", u["id"].as_str().unwrap());
    let r = e
        .req(Method::PATCH, &path)
        .header("content-type", "application/scim+json")
        .header("if-match", "\"999\"")
        .body(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "T"}]})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_scim_error(r, 400, "invalidVers").await;
    // `--error-shape scim`: RFC 7644 errors.
    let e = Emu::with(EmulatorConfig {
        error_shape: ErrorShape::Scim,
        ..EmulatorConfig::for_tests()
    })
    .await;
    let r = e.send_json(Method::POST, "/users", body).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "400", "{v}");
    assert_eq!(v["scimType"], "invalidValue", "{v}");
}

#[tokio::test]
async fn issue_15_if_match_compares_strong_tags_only() {
    let e = Emu::start().await;
    let u = e.create(user("w")).await;
    let path = format!("/users/{}", u["id"].as_str().unwrap());
    let version = u["meta"]["version"].as_str().unwrap().trim_matches('"');
    let send = |tag: String| {
        e.req(Method::PATCH, &path)
            .header("content-type", "application/scim+json")
            .header("if-match", tag)
            .body(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "title", "value": "T"}]})
                .to_string(),
            )
            .send()
    };
    let r = send(format!("W/\"{version}\"")).await.unwrap();
    assert_scim_error(r, 400, "invalidVers").await;
    let r = send(format!("\"{version}\"")).await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn issue_15_bare_extension_urn_selects_or_drops_the_extension() {
    let e = Emu::start().await;
    let u = e
        .create(with(
            with(user("x"), "title", json!("Agent")),
            ENT,
            json!({"department": "Support"}),
        ))
        .await;
    let path = format!("/users/{}", u["id"].as_str().unwrap());
    let got: Value = e
        .req(Method::GET, &path)
        .query(&[("attributes", ENT)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got[ENT]["department"], "Support", "{got}");
    assert_eq!(got[ENT]["division"], "Home", "{got}");
    assert!(
        got.get("title").is_none() && got.get(GEN).is_none(),
        "{got}"
    );
    let got: Value = e
        .req(Method::GET, &path)
        .query(&[("excludedAttributes", ENT)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(got.get(ENT).is_none(), "{got}");
    assert_eq!(got["title"], "Agent");
}

#[test]
fn issue_15_emulator_help_lists_the_new_flags() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args(["emulator", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--unknown-attributes", "--error-shape"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}
