//! Issue 17 item 1: `import` and `sync` with `--schema-baseline DIR` compare the
//! target's schemas with a saved baseline before the first write: breaking drift
//! on a path the mapping writes (or a newly required attribute no field writes)
//! stops the run with exit 2 and no write; other drift is a warning. The real
//! binary against in-process emulators, the drifted ones serving an edited
//! `/schemas` (`--schemas FILE`).

use std::path::{Path, PathBuf};

use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use serde_json::Value;

use crate::common::{self, fixture, import_at, read_json, show};
use crate::sync::Bench;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// Pulls the default emulator's documents into `dir`.
async fn baseline(dir: &Path) {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let url = emu.url();
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.args(["schema", "pull", "--out"])
        .arg(dir)
        .args(["--api-url", &url, "--login-url", &url]);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run scimport"))
        .await
        .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

/// The baseline's `/schemas` with the core User attributes edited by `edit`,
/// written to `to`.
fn edited(base: &Path, to: &Path, edit: impl FnOnce(&mut Vec<Value>)) -> PathBuf {
    let mut doc = read_json(&base.join("schemas.json"));
    let user = doc["Resources"]
        .as_array_mut()
        .expect("Resources")
        .iter_mut()
        .find(|s| s["id"] == USER)
        .expect("core User schema");
    edit(user["attributes"].as_array_mut().expect("attributes"));
    std::fs::write(to, serde_json::to_string(&doc).unwrap()).unwrap();
    to.to_path_buf()
}

fn attr<'a>(attrs: &'a mut [Value], name: &str) -> &'a mut Value {
    attrs
        .iter_mut()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in the baseline"))
}

async fn serving(schemas: PathBuf) -> EmulatorHandle {
    spawn(EmulatorConfig {
        schemas: Some(schemas),
        ..EmulatorConfig::for_tests()
    })
    .await
    .expect("emulator with --schemas")
}

/// Imports the sample with the sample mapping and `--schema-baseline base`.
async fn import(emu: &EmulatorHandle, runs: &Path, base: &Path) -> std::process::Output {
    let input = fixture("hr_export.csv");
    let mapping = fixture("mapping.toml");
    import_at(
        emu.client_id(),
        emu.client_secret(),
        &emu.url(),
        runs,
        &[
            input.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--schema-baseline",
            base.to_str().unwrap(),
        ],
    )
    .await
}

fn writes(emu: &EmulatorHandle) -> u64 {
    let s = emu.stats().requests;
    ["PUT", "PATCH", "DELETE"]
        .iter()
        .map(|m| s.get(*m).copied().unwrap_or(0))
        .sum::<u64>()
        // The token is the only POST a refused run may send.
        + s.get("POST").copied().unwrap_or(0).saturating_sub(1)
}

fn run_dirs(runs: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(runs)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_import_stops_on_drift_the_mapping_runs_into_and_warns_on_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("baseline");
    baseline(&base).await;

    // `title` removed and `displayName` read-only: both written by the mapping.
    let emu = serving(edited(&base, &tmp.path().join("a.json"), |attrs| {
        attrs.retain(|a| a["name"] != "title");
        attr(attrs, "displayName")["mutability"] = "readOnly".into();
    }))
    .await;
    let runs = tmp.path().join("runs-a");
    let out = import(&emu, &runs, &base).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("schema drift since the baseline"), "{err}");
    assert!(err.contains(&format!("removed {USER}:title")), "{err}");
    assert!(
        err.contains(&format!(
            "mutability_changed (readWrite -> readOnly) {USER}:displayName"
        )),
        "{err}"
    );
    assert!(err.contains("scimport schema diff --baseline"), "{err}");
    assert_eq!(writes(&emu), 0, "{:?}", emu.stats().requests);
    assert!(
        run_dirs(&runs).is_empty(),
        "a refused run leaves no run dir"
    );

    // `password` newly required: no field writes it, so every create would fail.
    // The plain pre-flight has nothing to say about it; the baseline does.
    let emu = serving(edited(&base, &tmp.path().join("b.json"), |attrs| {
        attr(attrs, "password")["required"] = true.into();
    }))
    .await;
    let out = import(&emu, &tmp.path().join("runs-b"), &base).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{USER}:password: no field writes it")),
        "{err}"
    );
    assert_eq!(writes(&emu), 0, "{:?}", emu.stats().requests);

    // `password` removed: breaking, but not for this mapping. The run goes on,
    // warned, and summary.json counts the drift.
    let emu = serving(edited(&base, &tmp.path().join("c.json"), |attrs| {
        attrs.retain(|a| a["name"] != "password");
    }))
    .await;
    let runs = tmp.path().join("runs-c");
    let out = import(&emu, &runs, &base).await;
    assert_ne!(out.status.code(), Some(2), "{}", show(&out));
    assert!(writes(&emu) > 100, "{:?}", emu.stats().requests);
    let dirs = run_dirs(&runs);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let summary = read_json(&dirs[0].join("summary.json"));
    let b = &summary["preflight"]["schema_baseline"];
    assert_eq!(b["breaking"], 1, "{summary}");
    assert_eq!(b["touching"], 0, "{summary}");
    assert_eq!(summary["preflight"]["status"], "passed", "{summary}");
    let warned = summary["preflight"]["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .any(|w| {
            w.as_str()
                .unwrap_or("")
                .contains("changed since the baseline")
        });
    assert!(warned, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_import_refuses_a_bad_baseline_and_preflight_off() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = import(&emu, &runs, &tmp.path().join("missing")).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("scimport schema pull"), "{err}");
    assert!(run_dirs(&runs).is_empty());

    let base = tmp.path().join("baseline");
    baseline(&base).await;
    let input = fixture("hr_export.csv");
    let mapping = fixture("mapping.toml");
    let out = crate::import::import(
        &emu,
        &runs,
        &[
            input.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--schema-baseline",
            base.to_str().unwrap(),
            "--preflight",
            "off",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--preflight off"),
        "{}",
        show(&out)
    );
    assert_eq!(emu.stats().requests.values().sum::<u64>(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_sync_compares_on_every_run_and_stops_on_drift() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("baseline");
    baseline(&base).await;
    let flag = ["--schema-baseline", base.to_str().unwrap()];
    let people = crate::sync::people(12);

    // Unchanged schemas: a first sync, then an incremental one that reads the
    // schemas (and nothing else) because a baseline was given.
    let b = Bench::new().await;
    b.source(&crate::sync::csv(&people));
    let first = b.sync(&flag);
    assert_eq!(first.code(), Some(0), "{}", first.text());
    b.reset_requests();
    let again = b.sync(&flag);
    assert_eq!(again.code(), Some(0), "{}", again.text());
    let sent = b.requests();
    assert_eq!(sent.get("GET"), Some(&3), "the three documents: {sent:?}");
    assert_eq!(sent.get("PATCH"), None, "{sent:?}");
    let summary = again.summary();
    assert_eq!(
        summary["preflight"]["schema_baseline"]["changes"], 0,
        "{summary}"
    );

    // A target that dropped `title`: the sync stops before its first write.
    let drifted = edited(&base, &tmp.path().join("d.json"), |attrs| {
        attrs.retain(|a| a["name"] != "title");
    });
    let b = Bench::with(EmulatorConfig {
        schemas: Some(drifted),
        ..EmulatorConfig::for_tests()
    })
    .await;
    b.source(&crate::sync::csv(&people));
    let ran = b.sync(&flag);
    assert_eq!(ran.code(), Some(2), "{}", ran.text());
    assert!(
        ran.text().contains(&format!("removed {USER}:title")),
        "{}",
        ran.text()
    );
    assert!(b.tenant().is_empty(), "nothing was created");
}
