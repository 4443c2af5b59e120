//! Issue 14, the smaller items: NDJSON numbers read as their literal text, a 201
//! whose body cannot be read resolved by a lookup and adopted, and mapping values
//! checked at load. Real binary, real emulator (behind a small proxy the test
//! starts where the server must misbehave).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};

use crate::common::{self, hr_rows, last_run, read_json, show, write_csv};
use crate::import::import;

const SMALL_MAPPING: &str = r#"
version = 1
keys = ["externalId", "userName"]
[[field]]
path = "externalId"
column = "employee_id"
[[field]]
path = "userName"
column = "email"
[[field]]
path = "displayName"
column = "name"
[[field]]
path = "title"
column = "title"
"#;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_ndjson_numbers_reach_the_tenant_as_written() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mapping = write(tmp.path(), "m.toml", SMALL_MAPPING);
    // Two ids a float cannot tell apart, and titles a float would rewrite.
    let input = write(
        tmp.path(),
        "hr.ndjson",
        concat!(
            r#"{"employee_id": 18446744073709551616, "email": "a@example.com", "name": "A", "title": 1.10}"#,
            "\n",
            r#"{"employee_id": 18446744073709551617, "email": "b@example.com", "name": "B", "title": 1e3}"#,
            "\n",
            r#"{"employee_id": 12345678901234567890123, "email": "c@example.com", "name": "C", "title": -0}"#,
            "\n",
        ),
    );
    let out = import(
        &emu,
        &runs,
        &[
            input.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let mut got: Vec<(String, String)> = emu
        .users()
        .into_iter()
        .map(|u| {
            (
                u.user.external_id.clone().unwrap_or_default(),
                u.user.title.clone().unwrap_or_default(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("12345678901234567890123".to_string(), "-0".to_string()),
            ("18446744073709551616".to_string(), "1.10".to_string()),
            ("18446744073709551617".to_string(), "1e3".to_string()),
        ]
    );
}

/// A mapping with bad values of several kinds (issue 14).
const BAD_MAPPING: &str = r#"
version = 1
keys = ["externalId", "userName"]
date_formats = ["%Y-%m-%d", "%Q"]
[[field]]
path = "externalId"
column = "employee_id"
[[field]]
path = "userName"
column = "email"
[[field]]
path = "displayName"
column = "name"
[[field]]
path = "groups"
column = "groups"
split = ""
[[field]]
path = "active"
column = "status"
table = { Active = "true", active = "true" }
[[field]]
path = "title"
column = "title"
replace = [{ pattern = "", with = "-" }]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_bad_mapping_values_exit_2_listing_every_problem() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let mapping = write(tmp.path(), "m.toml", BAD_MAPPING);
    let input = write(
        tmp.path(),
        "hr.csv",
        "employee_id,email,name,groups,status,title\nE1,a@example.com,A,G,active,T\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimport"))
        .arg("validate")
        .arg(&input)
        .arg("--mapping")
        .arg(&mapping)
        .output()
        .expect("run validate");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "date_formats: \"%Q\" has an unknown or incomplete % directive",
        "field #4 (`groups`): `split` is empty",
        "field #5 (`active`): table keys \"Active\" and \"active\" differ only in case",
        "field #6 (`title`): replace #1 has an empty pattern",
    ] {
        assert!(err.contains(want), "{want}\n{}", show(&out));
    }

    // import refuses it before reading a row or calling the tenant.
    let runs = tmp.path().join("runs");
    let out = import(
        &emu,
        &runs,
        &[
            input.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`split` is empty"),
        "{}",
        show(&out)
    );
    assert!(emu.users().is_empty());
}

/// A proxy in front of `upstream` that passes everything through, except that
/// the body of every 201 to `POST …/users` is spoiled in turn: not JSON, cut
/// short, JSON without `id`. Returns its URL and how many bodies it spoiled.
async fn spoiling_proxy(upstream: String) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let spoiled = Arc::new(AtomicUsize::new(0));
    let count = spoiled.clone();
    let client = common::http();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let client = client.clone();
        let upstream = upstream.clone();
        let count = count.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX)
                .await
                .expect("request body");
            let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut headers = parts.headers.clone();
            headers.remove("host");
            headers.remove("content-length");
            let resp = client
                .request(parts.method.clone(), format!("{upstream}{pq}"))
                .headers(headers)
                .body(body)
                .send()
                .await
                .expect("upstream answers");
            let status = resp.status();
            let mut headers = resp.headers().clone();
            headers.remove("content-length");
            headers.remove("transfer-encoding");
            let mut bytes = resp.bytes().await.expect("upstream body").to_vec();
            if parts.method == axum::http::Method::POST
                && parts.uri.path().to_ascii_lowercase().ends_with("/users")
                && status.as_u16() == 201
            {
                let n = count.fetch_add(1, Ordering::SeqCst);
                bytes = match n % 3 {
                    0 => b"<html>Created</html>".to_vec(),
                    1 => bytes[..bytes.len() / 2].to_vec(),
                    _ => {
                        let mut v: serde_json::Value =
                            serde_json::from_slice(&bytes).expect("the emulator's user");
                        v.as_object_mut().expect("object").remove("id");
                        serde_json::to_vec(&v).expect("json")
                    }
                };
            }
            let mut out = axum::response::Response::new(axum::body::Body::from(bytes));
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            out
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, spoiled)
}

/// Runs the CLI against `url` (the proxy) with the emulator's credentials.
async fn import_via(
    emu: &EmulatorHandle,
    url: &str,
    runs: &Path,
    args: &[&str],
) -> std::process::Output {
    common::import_at(emu.client_id(), emu.client_secret(), url, runs, args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_201_with_an_unreadable_body_is_adopted_not_failed_or_reposted() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let (proxy, spoiled) = spoiling_proxy(emu.url()).await;
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    // 30 rows with groups and managers (rows 11.. report to rows 2..10).
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(30));
    let args = [csv.to_str().unwrap(), "--mapping", "fixtures/mapping.toml"];
    let out = import_via(&emu, &proxy, &runs, &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(
        spoiled.load(Ordering::SeqCst),
        30,
        "every create was spoiled"
    );
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(s["done"]["created"], 30, "{s}");
    assert_eq!(s["outcomes"]["succeeded"], 30, "{s}");
    assert_eq!(s["calls"]["post"], 30, "one POST per user: {s}");

    // Exactly one user per userName, each with its manager set.
    let users = emu.users();
    let mut per_name: HashMap<String, usize> = HashMap::new();
    for u in &users {
        *per_name
            .entry(u.user.user_name.clone().unwrap_or_default())
            .or_default() += 1;
    }
    assert_eq!(per_name.len(), 30);
    assert!(per_name.values().all(|n| *n == 1), "{per_name:?}");
    let id_of = |ext: &str| {
        users
            .iter()
            .find(|u| u.user.external_id.as_deref() == Some(ext))
            .and_then(|u| u.user.id.clone())
            .expect("user exists")
    };
    let e15 = users
        .iter()
        .find(|u| u.user.external_id.as_deref() == Some("E000015"))
        .expect("row 15");
    let manager = e15
        .user
        .enterprise
        .as_ref()
        .and_then(|e| e.manager.as_ref());
    assert_eq!(manager.map(|m| m.value.clone()), Some(id_of("E000006")));

    // A re-run (through the proxy) finds everything in place, groups and
    // managers included: not one write.
    let out = import_via(&emu, &proxy, &runs, &args).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(s["calls"]["writes"], 0, "{s}");
    assert_eq!(s["done"]["unchanged"], 30, "{s}");
}
