//! Issue 17 item 1: `scimport schema pull` saves the target's discovery documents,
//! `scimport schema diff` reports drift from them (exit 1 when breaking), against
//! the real binary and in-process emulators, one of them serving an edited
//! `/schemas` from a file (`--schemas`).

use std::path::Path;
use std::process::Output;

use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use serde_json::Value;

use crate::common::{self, read_json, show};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

async fn schema(emu: &EmulatorHandle, args: &[&str]) -> Output {
    let url = emu.url();
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.arg("schema")
        .args(args)
        .args(["--api-url", &url, "--login-url", &url]);
    tokio::task::spawn_blocking(move || cmd.output().expect("run scimport"))
        .await
        .expect("join")
}

async fn pull(emu: &EmulatorHandle, dir: &Path) {
    let out = schema(emu, &["pull", "--out", dir.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// The baseline's `/schemas` with core `title` removed and `displayName` read-only.
fn edited_schemas(baseline: &Path, to: &Path) {
    let mut doc = read_json(&baseline.join("schemas.json"));
    let user = doc["Resources"]
        .as_array_mut()
        .expect("Resources")
        .iter_mut()
        .find(|s| s["id"] == USER)
        .expect("core User schema");
    let attrs = user["attributes"].as_array_mut().expect("attributes");
    let before = attrs.len();
    attrs.retain(|a| a["name"] != "title");
    assert_eq!(attrs.len(), before - 1, "the baseline has a title");
    attrs
        .iter_mut()
        .find(|a| a["name"] == "displayName")
        .expect("displayName")["mutability"] = "readOnly".into();
    std::fs::write(to, serde_json::to_string(&doc).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_pull_then_diff_reports_no_drift_then_breaking_drift() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("baseline");
    pull(&emu, &base).await;
    for name in [
        "schemas.json",
        "resource_types.json",
        "service_provider_config.json",
    ] {
        let doc = read_json(&base.join(name));
        assert!(doc.is_object(), "{name}: {doc}");
    }
    let text = std::fs::read_to_string(base.join("schemas.json")).unwrap();
    assert!(text.contains("\n  "), "pretty JSON");

    // The same target: no drift.
    let out = schema(&emu, &["diff", "--baseline", base.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no drift"),
        "{}",
        show(&out)
    );

    // A target whose schema changed.
    let file = tmp.path().join("edited.json");
    edited_schemas(&base, &file);
    let drifted = spawn(EmulatorConfig {
        schemas: Some(file),
        ..EmulatorConfig::for_tests()
    })
    .await
    .expect("emulator with --schemas");
    let out = schema(&drifted, &["diff", "--baseline", base.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("BREAKING removed {USER}:title")),
        "{}",
        show(&out)
    );
    assert!(
        stdout.contains(&format!(
            "BREAKING mutability_changed {USER}:displayName: readWrite -> readOnly"
        )),
        "{}",
        show(&out)
    );

    let out = schema(
        &drifted,
        &[
            "diff",
            "--baseline",
            base.to_str().unwrap(),
            "--output",
            "json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(doc["breaking"], true);
    let changes = doc["changes"].as_array().expect("changes");
    let has = |path: &str, kind: &str| {
        changes.iter().any(|c| {
            c["path"] == format!("{USER}:{path}") && c["kind"] == kind && c["breaking"] == true
        })
    };
    assert!(has("title", "removed"), "{doc}");
    assert!(has("displayName", "mutability_changed"), "{doc}");
    assert_eq!(changes.len(), 2, "{doc}");

    // Two saved directories, no target needed; and the reverse is not breaking.
    let now = tmp.path().join("now");
    pull(&drifted, &now).await;
    let offline = |a: &Path, b: &Path| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_scimport"));
        cmd.args(["schema", "diff", "--baseline"])
            .arg(a)
            .arg("--against")
            .arg(b)
            .env_remove("RUST_LOG");
        cmd.output().expect("run scimport")
    };
    let out = offline(&base, &now);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let out = offline(&now, &base);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("added"),
        "{}",
        show(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_emulator_refuses_a_malformed_schemas_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.json");
    std::fs::write(&file, r#"[{"attributes": []}]"#).unwrap();
    let started = spawn(EmulatorConfig {
        schemas: Some(file),
        ..EmulatorConfig::for_tests()
    })
    .await;
    let Err(err) = started else {
        panic!("a schema without id must be refused at start");
    };
    assert!(err.to_string().contains("schemas"), "{err}");
}
