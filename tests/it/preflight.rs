//! Issue 15 item 2: the pre-flight reads the target's /schemas, /resourcetypes and
//! /serviceproviderconfig before the first write and stops the run (exit 2, before
//! row 1, every problem listed) when the mapping writes a path the target does not
//! offer. Against the real emulator, and against a small local server the test
//! starts when the emulator cannot say it (a read-only `title`, no /schemas, a
//! malformed one).

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use scimport::emulator::{EmulatorConfig, spawn};
use serde_json::{Value, json};

use crate::common::{self, fixture, hr_rows, last_run, read_json, show, write_csv};
use crate::import::import;

fn no_run_left(runs: &Path) -> bool {
    std::fs::read_dir(runs).map_or(true, |mut d| d.next().is_none())
}

/// The fixture mapping plus the core `name` Genesys does not have.
fn mapping_with_name(dir: &Path) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(fixture("mapping.toml")).expect("fixture mapping");
    text.push_str(
        "\n[[field]]\npath = \"name.givenName\"\ncolumn = \"first_name\"\n\
         \n[[field]]\npath = \"name.familyName\"\ncolumn = \"last_name\"\n",
    );
    let p = dir.join("with-name.toml");
    std::fs::write(&p, text).expect("write mapping");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_name_given_name_exits_2_before_any_write_naming_every_path() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(5));
    let mapping = mapping_with_name(tmp.path());
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec![
            csv.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = import(&emu, &runs, &args).await;
        assert_eq!(out.status.code(), Some(2), "{}", show(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("pre-flight"), "{err}");
        // Both fields, each with its path and the fix.
        assert!(err.contains("writes `name.givenName`"), "{err}");
        assert!(err.contains("writes `name.familyName`"), "{err}");
        assert!(
            err.contains("(first_name)") && err.contains("(last_name)"),
            "{err}"
        );
        assert!(err.contains("map the name to displayName"), "{err}");
    }
    let stats = emu.stats();
    assert_eq!(stats.users.active + stats.users.inactive, 0, "{stats:?}");
    let sent = |m: &str| stats.requests.get(m).copied().unwrap_or(0);
    for m in ["PATCH", "PUT", "DELETE"] {
        assert_eq!(sent(m), 0, "{stats:?}");
    }
    // One token per run, and only the three discovery GETs per run: not even a
    // lookup was sent.
    assert_eq!((sent("POST"), sent("GET")), (2, 6), "{stats:?}");
    assert!(
        no_run_left(&runs),
        "a run that sent nothing leaves no directory"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_fixture_mapping_passes_and_the_audit_log_shows_three_discovery_gets() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(5));
    let mapping = fixture("mapping.toml");
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let dir = last_run(&runs);
    let summary = read_json(&dir.join("summary.json"));
    assert_eq!(
        summary["preflight"],
        json!({"mode": "auto", "status": "passed", "calls": 3, "warnings": []}),
        "{summary}"
    );
    let audit = std::fs::read_to_string(dir.join("audit.jsonl")).expect("audit");
    let events: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit json"))
        .collect();
    let text = |e: &Value| e.to_string();
    let pos = |needle: &str| events.iter().position(|e| text(e).contains(needle));
    let discovery: Vec<usize> = ["/schemas", "/resourcetypes", "/serviceproviderconfig"]
        .iter()
        .map(|p| {
            events
                .iter()
                .position(|e| e["method"] == "GET" && e["path"] == *p)
                .unwrap_or_else(|| panic!("no GET {p} in the audit log:\n{audit}"))
        })
        .collect();
    let verdict = pos("preflight: passed").expect("the verdict is audited");
    let first_post = events
        .iter()
        .position(|e| e["method"] == "POST" && e["path"] == "/users")
        .expect("a create");
    let first_lookup = events
        .iter()
        .position(|e| e["method"] == "GET" && text(e).contains("/users"))
        .expect("a lookup");
    assert!(discovery.iter().all(|i| *i < verdict), "{audit}");
    assert!(verdict < first_lookup && verdict < first_post, "{audit}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_preflight_off_sends_no_discovery_call() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(3));
    let mapping = fixture("mapping.toml");
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--dry-run",
            "--preflight",
            "off",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let summary = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(summary["preflight"]["status"], "off", "{summary}");
    assert_eq!(summary["preflight"]["calls"], 0, "{summary}");
    let audit = std::fs::read_to_string(last_run(&runs).join("audit.jsonl")).expect("audit");
    assert!(!audit.contains("/schemas"), "{audit}");
    emu.shutdown().await;
}

/// What the small server answers for /schemas.
#[derive(Clone, Copy)]
enum Schemas {
    /// The emulator's documents, with `title` read-only.
    TitleReadOnly,
    /// 404 on every discovery document.
    Missing,
    /// A 200 that is not a schema list.
    Malformed,
    /// A list of no schema (as a server that answers every GET with an empty list).
    Empty,
}

/// A SCIM server no row can be written to: discovery as `kind` says, an empty
/// user list for lookups, and every other request counted (and refused).
async fn small_server(kind: Schemas) -> (String, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let others = Arc::new(AtomicU64::new(0));
    let base = "/api/v2/scim/v2";
    let schemas = move || async move {
        match kind {
            Schemas::TitleReadOnly => {
                let mut all = scimport::emulator::schemas::all_schemas("http://x");
                for a in all[0]["attributes"].as_array_mut().expect("attributes") {
                    if a["name"] == "title" {
                        a["mutability"] = json!("readOnly");
                    }
                }
                axum::Json(json!({"Resources": all})).into_response()
            }
            Schemas::Missing => StatusCode::NOT_FOUND.into_response(),
            Schemas::Empty => axum::Json(json!({"Resources": []})).into_response(),
            Schemas::Malformed => {
                axum::Json(json!({"Resources": [{"id": "urn:x", "attributes": [{"name": "a"}]}]}))
                    .into_response()
            }
        }
    };
    let rts = move || async move {
        match kind {
            Schemas::Missing => StatusCode::NOT_FOUND.into_response(),
            Schemas::Empty => axum::Json(json!({"Resources": []})).into_response(),
            _ => axum::Json(
                json!({"Resources": scimport::emulator::schemas::resource_types("http://x")}),
            )
            .into_response(),
        }
    };
    let spc = move || async move {
        match kind {
            Schemas::Missing => StatusCode::NOT_FOUND.into_response(),
            _ => axum::Json(scimport::emulator::schemas::service_provider_config(
                "http://x", 1,
            ))
            .into_response(),
        }
    };
    let counted = others.clone();
    let app = Router::new()
        .route(
            "/oauth/token",
            post(|| async {
                axum::Json(json!({"access_token": "t0k3n-for-tests", "token_type": "bearer", "expires_in": 3600}))
            }),
        )
        .route(&format!("{base}/schemas"), get(schemas))
        .route(&format!("{base}/resourcetypes"), get(rts))
        .route(&format!("{base}/serviceproviderconfig"), get(spc))
        .route(
            &format!("{base}/users"),
            get(|| async {
                axum::Json(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}))
            }),
        )
        .route(
            &format!("{base}/groups"),
            get(|| async {
                axum::Json(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}))
            }),
        )
        .fallback(move |uri: Uri| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                (StatusCode::INTERNAL_SERVER_ERROR, format!("unexpected {uri}"))
            }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, others, task)
}

async fn import_at(url: &str, runs: &Path, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--max-attempts", "1"]);
    common::import_at("id", "secret", url, runs, &all).await
}

/// Imports three HR rows with the fixture mapping against `url`; returns the
/// output and the runs dir (inside the returned temporary directory).
async fn import_three(url: &str) -> (Output, std::path::PathBuf, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(3));
    let mapping = fixture("mapping.toml");
    let args = [
        csv.to_str().unwrap(),
        "--mapping",
        mapping.to_str().unwrap(),
    ];
    let out = import_at(url, &runs, &args).await;
    (out, runs, tmp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_a_read_only_attribute_exits_2_before_any_write() {
    let (url, others, task) = small_server(Schemas::TitleReadOnly).await;
    let (out, runs, _tmp) = import_three(&url).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("writes `title`: `title` is read-only on the target"),
        "{err}"
    );
    assert_eq!(
        others.load(Ordering::SeqCst),
        0,
        "no write reached the server"
    );
    assert!(no_run_left(&runs));
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_a_server_without_schemas_is_skipped_with_a_warning_unless_required() {
    for kind in [Schemas::Missing, Schemas::Empty] {
        without_schemas(kind).await;
    }
}

async fn without_schemas(kind: Schemas) {
    let (url, others, task) = small_server(kind).await;
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(3));
    let mapping = fixture("mapping.toml");
    let (c, m) = (csv.to_str().unwrap(), mapping.to_str().unwrap());
    let out = import_at(&url, &runs, &[c, "--mapping", m, "--dry-run"]).await;
    // The run went past the pre-flight: its rows fail on groups the empty server
    // lacks (exit 1), not on the check (exit 2).
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pre-flight skipped"),
        "{}",
        show(&out)
    );
    let summary = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(summary["preflight"]["status"], "skipped", "{summary}");
    assert_eq!(summary["preflight"]["calls"], 1, "{summary}");
    assert_eq!(summary["rows"], 3, "{summary}");
    std::fs::remove_dir_all(&runs).unwrap();
    let out = import_at(
        &url,
        &runs,
        &[c, "--mapping", m, "--dry-run", "--preflight", "require"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--preflight require"),
        "{}",
        show(&out)
    );
    assert!(no_run_left(&runs));
    assert_eq!(others.load(Ordering::SeqCst), 0);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_a_malformed_schema_exits_2() {
    let (url, others, task) = small_server(Schemas::Malformed).await;
    let (out, _runs, _tmp) = import_three(&url).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/Schemas is malformed") && err.contains("`a`"),
        "{err}"
    );
    assert_eq!(others.load(Ordering::SeqCst), 0);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_init_with_a_target_reads_its_schemas_and_proposes_only_what_it_offers() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let url = emu.url();
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.args(["init", "--from"])
        .arg(fixture("hr_export.csv"))
        .args(["--output", "-", "--api-url", &url, "--login-url", &url]);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run scimport"))
        .await
        .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Paths checked against the schemas of"),
        "{text}"
    );
    assert!(!text.contains("name.givenName"), "{text}");
    assert!(
        text.contains("template = \"{first_name} {last_name}\""),
        "{text}"
    );
    // Its schemas were read: the discovery GETs reached the emulator.
    assert_eq!(
        emu.stats().requests.get("GET"),
        Some(&3),
        "{:?}",
        emu.stats()
    );
    let mapping = scimport::mapping::Mapping::from_toml_str(&text).expect("a valid mapping");
    assert!(mapping.manages_groups());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_15_a_retry_is_checked_too_before_its_first_write() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = fixture("hr_export.csv");
    let mapping = fixture("mapping.toml");
    // The sample fails some rows on purpose: something to retry.
    let out = import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let first = last_run(&runs);
    let id = first.file_name().unwrap().to_str().unwrap().to_string();
    let before = emu.stats().requests;
    let with_name = mapping_with_name(tmp.path());
    let out = import(
        &emu,
        &runs,
        &[
            "--retry-failed",
            &id,
            "--mapping",
            with_name.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("writes `name.givenName`"),
        "{}",
        show(&out)
    );
    let after = emu.stats().requests;
    for m in ["PATCH", "PUT", "DELETE"] {
        assert_eq!(before.get(m), after.get(m), "{m}: {before:?} -> {after:?}");
    }
    // One token, and the three discovery GETs.
    assert_eq!(after["POST"], before["POST"] + 1, "{before:?} -> {after:?}");
    assert_eq!(after["GET"], before["GET"] + 3, "{before:?} -> {after:?}");
    assert_eq!(
        last_run(&runs),
        first,
        "the refused retry left no run directory"
    );
    emu.shutdown().await;
}
