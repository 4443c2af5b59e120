//! Issue 15 item 4: `--profile generic` against scim2-server, an RFC 7644 server no
//! one here wrote (PyPI `scim2-server`, started on a loopback port). Writes are
//! counted from scimport's own summary.json, never from the server's logs.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::scim2_server::Scim2Server;
use crate::common::{fixture, last_run, read_json};

const TOKEN: &str = "interop-static-bearer-7f3a";

/// `scimport import --profile generic` of `input` into `server`, bearer from the
/// environment (never a flag).
fn import(url: &str, token: &str, runs: &Path, input: &Path) -> Output {
    import_with(
        url,
        token,
        runs,
        input,
        &fixture("generic-mapping.toml"),
        &[],
    )
}

/// [`import`] with another mapping and extra flags.
fn import_with(
    url: &str,
    token: &str,
    runs: &Path,
    input: &Path,
    mapping: &Path,
    extra: &[&str],
) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_scimport"))
        .env_remove("RUST_LOG")
        .env_remove("GENESYS_CLIENT_ID")
        .env_remove("GENESYS_CLIENT_SECRET")
        .env("SCIMPORT_BEARER_TOKEN", token)
        .current_dir(runs.parent().expect("runs has a parent"))
        .arg("import")
        .arg(input)
        .arg("--mapping")
        .arg(mapping)
        .args(extra)
        .args(["--profile", "generic", "--api-url", url])
        .args(["--rate", "off", "--runs-dir"])
        .arg(runs)
        .output()
        .expect("run scimport")
}

/// Runs an import and returns its summary.json, printing the output on a failure.
fn run(server: &Scim2Server, runs: &Path, input: &Path, want_code: i32) -> Value {
    let out = import(&server.url, &server.token, runs, input);
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(want_code), "{text}");
    read_json(&last_run(runs).join("summary.json"))
}

fn writes(s: &Value) -> u64 {
    s["calls"]["writes"].as_u64().expect("calls.writes")
}

/// The HR fixture with `edit` applied to the cells of data rows.
fn edited(dir: &Path, edit: impl Fn(&str, &mut Vec<String>)) -> PathBuf {
    let text = std::fs::read_to_string(fixture("hr_export.csv")).expect("fixture");
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().expect("header"));
    for line in lines {
        // The fixture's cells hold no quoted commas.
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        let id = cells[0].clone();
        edit(&id, &mut cells);
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    let path = dir.join("hr.csv");
    std::fs::write(&path, out).expect("write csv");
    path
}

fn user(server: &Scim2Server, external_id: &str) -> Value {
    let list = server.get(&format!(
        "/Users?filter=externalId%20eq%20%22{external_id}%22"
    ));
    assert_eq!(list["totalResults"], 1, "{list}");
    list["Resources"][0].clone()
}

const TITLE: usize = 6;
const MOBILE: usize = 5;

#[test]
fn issue_15_generic_import_creates_every_valid_row_then_converges() {
    let server = Scim2Server::start(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let input = edited(dir.path(), |_, _| {});

    // First run: every valid row is created (an import does not create the 10
    // terminated employees, it skips them), nothing fails against the server.
    let s = run(&server, &runs, &input, 1);
    let invalid = s["done"]["invalid"].as_u64().unwrap();
    assert!(invalid > 0, "the fixture has invalid rows: {s}");
    assert_eq!(s["done"]["failed"], 0, "{s}");
    assert_eq!(s["actions"]["skip"], 10, "{s}");
    let created = 200 - invalid - 10;
    assert_eq!(s["done"]["created"].as_u64().unwrap(), created, "{s}");
    assert_eq!(writes(&s), created, "{s}");
    let total = server.get("/Users?count=1")["totalResults"]
        .as_u64()
        .unwrap();
    assert_eq!(total, created);
    let u = user(&server, "E100002");
    assert_eq!(u["title"], "Team Lead");
    assert_eq!(u["phoneNumbers"][0]["value"], "+19179746387", "{u}");
    // The pre-flight read the server's own /Schemas (RFC spelling) and passed.
    assert_eq!(s["preflight"]["status"], "passed", "{s}");
    // The generic mapping writes core attributes only.
    assert_eq!(
        u["schemas"],
        serde_json::json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );

    // Re-run: zero writes.
    let s = run(&server, &runs, &input, 1);
    assert_eq!(writes(&s), 0, "{s}");
    // Users already equal, and rows inactive in the source that were never
    // created (counted apart since issue 19).
    assert_eq!(
        s["done"]["unchanged"].as_u64().unwrap() + s["done"]["inactive_absent"].as_u64().unwrap(),
        200 - invalid,
        "{s}"
    );
    assert!(s["done"]["inactive_absent"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["done"]["failed"], 0, "{s}");

    // One title changes: exactly one PATCH.
    let input = edited(dir.path(), |id, cells| {
        if id == "E100002" {
            cells[TITLE] = "Head of Sales".into();
        }
    });
    let s = run(&server, &runs, &input, 1);
    assert_eq!(writes(&s), 1, "{s}");
    assert_eq!(s["calls"]["patch"], 1, "{s}");
    assert_eq!(user(&server, "E100002")["title"], "Head of Sales");
    // ... and the run after it sends none.
    let s = run(&server, &runs, &input, 1);
    assert_eq!(writes(&s), 0, "{s}");

    // The static bearer reached no file of any run.
    for entry in std::fs::read_dir(&runs).unwrap() {
        for file in std::fs::read_dir(entry.unwrap().path()).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            assert!(!String::from_utf8_lossy(&bytes).contains(TOKEN));
        }
    }
}

#[test]
fn issue_15_generic_clearing_a_mobile_settles_in_one_run() {
    let server = Scim2Server::start(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let input = edited(dir.path(), |_, _| {});
    run(&server, &runs, &input, 1);
    let input = edited(dir.path(), |id, cells| {
        if id == "E100002" {
            cells[MOBILE].clear();
        }
    });
    // Clearing one mobile phone: one write ...
    let s = run(&server, &runs, &input, 1);
    assert_eq!(writes(&s), 1, "{s}");
    let phones = user(&server, "E100002")["phoneNumbers"].clone();
    let has_mobile = phones
        .as_array()
        .is_some_and(|a| a.iter().any(|p| p["type"] == "mobile"));
    assert!(!has_mobile, "the mobile entry is gone: {phones}");
    // ... and the next run none.
    let s = run(&server, &runs, &input, 1);
    assert_eq!(writes(&s), 0, "{s}");
}

#[test]
fn issue_15_generic_with_a_wrong_bearer_writes_nothing() {
    let server = Scim2Server::start(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let input = edited(dir.path(), |_, _| {});
    std::fs::create_dir_all(&runs).unwrap();
    let out = import(&server.url, "not-the-token", &runs, &input);
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("not-the-token"), "{text}");
    assert_eq!(server.get("/Users?count=1")["totalResults"], 0);
}

/// The generic mapping plus group memberships, and the first `n` fixture rows.
fn with_groups(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let mut mapping = std::fs::read_to_string(fixture("generic-mapping.toml")).unwrap();
    mapping.push_str("\n[[field]]\npath = \"groups\"\ncolumn = \"groups\"\n");
    let mapping_path = dir.join("mapping.toml");
    std::fs::write(&mapping_path, mapping).unwrap();
    let text = std::fs::read_to_string(fixture("hr_export.csv")).unwrap();
    let head: Vec<&str> = text.lines().take(n + 1).collect();
    let input = dir.join("small.csv");
    std::fs::write(&input, head.join("\n") + "\n").unwrap();
    (mapping_path, input)
}

#[test]
fn issue_15_generic_missing_groups_fail_rows_unless_create_groups() {
    let server = Scim2Server::start(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let (mapping, input) = with_groups(dir.path(), 8);

    // Without --create-groups: every row naming a group fails with unknown_group,
    // and no group appears on the server.
    let out = import_with(&server.url, TOKEN, &runs, &input, &mapping, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert!(
        s["error_kinds"]["unknown_group"].as_u64().unwrap() > 0,
        "{s}"
    );
    assert_eq!(server.get("/Groups")["totalResults"], 0);

    // With it: each missing group is created once and the memberships land.
    let out = import_with(
        &server.url,
        TOKEN,
        &runs,
        &input,
        &mapping,
        &["--create-groups"],
    );
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(s["error_kinds"]["unknown_group"], Value::Null, "{s}");
    assert_eq!(
        s["done"]["failed"],
        0,
        "{s}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let groups = server.get("/Groups");
    let names: std::collections::BTreeSet<String> = groups["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        groups["totalResults"].as_u64().unwrap() as usize,
        names.len(),
        "created once each: {groups}"
    );
    assert!(
        names.contains("Support Team") && names.contains("Tier 1"),
        "{names:?}"
    );
    let support = groups["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == "Support Team")
        .unwrap();
    assert!(
        support["members"].as_array().is_some_and(|m| !m.is_empty()),
        "{support}"
    );

    // A re-run sends no write.
    let out = import_with(
        &server.url,
        TOKEN,
        &runs,
        &input,
        &mapping,
        &["--create-groups"],
    );
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(
        writes(&s),
        0,
        "{s}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn issue_15_create_groups_is_refused_for_genesys() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimport"))
        .env_remove("RUST_LOG")
        .current_dir(dir.path())
        .arg("import")
        .arg(fixture("hr_export.csv"))
        .arg("--mapping")
        .arg(fixture("mapping.toml"))
        .arg("--create-groups")
        .output()
        .expect("run scimport");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--create-groups needs --profile generic"),
        "{err}"
    );
    assert!(!dir.path().join("runs").exists(), "nothing ran");
}

/// The generic profile's other way to authenticate: OAuth client credentials at
/// `--token-url`. The emulator serves SCIM under `/api/v2/scim/v2` and tokens at
/// `/oauth/token`, so as a generic server its SCIM base is that path.
#[tokio::test(flavor = "multi_thread")]
async fn issue_15_generic_oauth_at_token_url_against_the_emulator() {
    use scimport::emulator::{EmulatorConfig, spawn};
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let input = edited(dir.path(), |_, _| {});
    let mut cmd = crate::common::scimport(emu.client_id(), emu.client_secret());
    cmd.current_dir(dir.path())
        .env_remove("SCIMPORT_BEARER_TOKEN")
        .arg("import")
        .arg(&input)
        .arg("--mapping")
        .arg(fixture("generic-mapping.toml"))
        .args(["--profile", "generic", "--rate", "off"])
        .args(["--api-url", &format!("{}/api/v2/scim/v2", emu.url())])
        .args(["--token-url", &format!("{}/oauth/token", emu.url())])
        .arg("--runs-dir")
        .arg(&runs);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run scimport"))
        .await
        .expect("join");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(s["done"]["failed"], 0, "{s}");
    assert!(s["done"]["created"].as_u64().unwrap() > 150, "{s}");
    assert_eq!(s["calls"]["token"], 1, "one token from --token-url: {s}");
    // The endpoints came from the emulator's /ResourceTypes.
    let audit = std::fs::read_to_string(last_run(&runs).join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"path\":\"/ResourceTypes\""), "{audit}");
}

#[test]
fn issue_15_init_against_a_generic_target_reads_its_rfc_schemas() {
    let server = Scim2Server::start(TOKEN);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimport"))
        .env_remove("RUST_LOG")
        .env_remove("GENESYS_CLIENT_ID")
        .env_remove("GENESYS_CLIENT_SECRET")
        .env("SCIMPORT_BEARER_TOKEN", TOKEN)
        .args(["init", "--from"])
        .arg(fixture("hr_export.csv"))
        .args(["--output", "-", "--profile", "generic", "--api-url"])
        .arg(&server.url)
        .output()
        .expect("run scimport");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The RFC spelling of the discovery paths reached this server's schemas, and
    // nothing it lacks (the Genesys extension) is proposed.
    assert!(
        text.contains("Paths checked against the schemas of"),
        "{text}"
    );
    assert!(!text.contains("genesys"), "{text}");
    assert!(!text.contains("name.givenName"), "{text}");
}
