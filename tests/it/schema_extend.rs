//! Issue 17 item 2: `scimport schema extend` against in-process emulators: a bad
//! file's every problem listed; the default emulator (Genesys-like) refusing with
//! built-in alternatives; `--schema-extensions` deploying, clashing on a second
//! deploy, refusing the 11th; then a mapping onto the extension's attributes
//! imported, converged, and changed with one PATCH.

use std::path::Path;
use std::process::Output;

use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use serde_json::Value;

use crate::common::{self, fixture, last_run, read_json, show};

const URN: &str = "urn:acme:params:scim:schemas:extension:hr:2.0:User";

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

async fn extensions_emulator() -> EmulatorHandle {
    spawn(EmulatorConfig {
        schema_extensions: true,
        ..EmulatorConfig::for_tests()
    })
    .await
    .expect("emulator")
}

/// The ids `/schemas` lists.
async fn schema_ids(emu: &EmulatorHandle) -> Vec<String> {
    let token = common::token(emu).await;
    let doc: Value = common::http()
        .get(format!("{}/schemas", emu.scim_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /schemas")
        .json()
        .await
        .expect("json");
    doc["Resources"]
        .as_array()
        .expect("Resources")
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_string))
        .collect()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_check_of_a_bad_file_lists_every_problem() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        r#"id = "acme-hr"
name = "Bad"
[[attribute]]
name = "2fast"
type = "string"
[[attribute]]
name = "title"
type = "string"
[[attribute]]
name = "grade"
type = "integer"
canonicalValues = ["1", "2"]
[[attribute]]
name = "address"
type = "complex"
"#,
    )
    .unwrap();
    let out = schema(
        &emu,
        &["extend", "--file", bad.to_str().unwrap(), "--check"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let t = text(&out);
    for want in [
        "id: `acme-hr` is not a URN",
        "attribute `2fast`: the name must start with a letter",
        "attribute `grade`: canonicalValues are allowed on string attributes only",
        "attribute `address`: a complex attribute needs sub-attributes",
        "attribute `title`: clashes with the core User attribute `title`",
        "5 problem(s)",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    // An unknown key is refused by the parser, naming it.
    std::fs::write(&bad, "id = \"urn:a:b:c\"\nname = \"x\"\ncolor = \"red\"\n").unwrap();
    let out = schema(
        &emu,
        &["extend", "--file", bad.to_str().unwrap(), "--check"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out).contains("color"), "{}", show(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_the_default_emulator_refuses_and_lists_built_in_alternatives() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let before = schema_ids(&emu).await;
    let file = fixture("extension.toml");
    let out = schema(&emu, &["extend", "--file", file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let t = text(&out);
    for want in [
        "does not accept schema creation",
        "read-only",
        "customAttributes",
        "enterprise.employeeNumber",
        "enterprise.department",
        "genesys.externalIds[authority eq",
        "Nothing was deployed",
    ] {
        assert!(t.contains(want), "missing {want:?} in\n{t}");
    }
    assert_eq!(schema_ids(&emu).await, before, "no schema created");
    assert!(!before.iter().any(|id| id == URN));
    // A Genesys Cloud host is refused before any call (even --check).
    let out = tokio::task::spawn_blocking(move || {
        common::scimport("id", "secret")
            .args([
                "schema",
                "extend",
                "--file",
                file.to_str().unwrap(),
                "--check",
            ])
            .args(["--region", "eu-west-1"])
            .output()
            .expect("run scimport")
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let t = text(&out);
    assert!(
        t.contains("https://api.mypurecloud.ie is Genesys Cloud"),
        "{t}"
    );
    assert!(t.contains("enterprise.employeeNumber"), "{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_deployed_once_then_a_clash_and_the_eleventh_refused() {
    let emu = extensions_emulator().await;
    let file = fixture("extension.toml");
    let f = file.to_str().unwrap();
    let out = schema(&emu, &["extend", "--file", f, "--check"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        !schema_ids(&emu).await.iter().any(|id| id == URN),
        "--check wrote"
    );
    let out = schema(&emu, &["extend", "--file", f]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(text(&out).contains("deployed"), "{}", show(&out));
    assert!(schema_ids(&emu).await.iter().any(|id| id == URN));
    // Pulled like any schema: the User resource type lists it.
    let tmp = tempfile::tempdir().unwrap();
    let pulled = tmp.path().join("pulled");
    let out = schema(&emu, &["pull", "--out", pulled.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let rts = read_json(&pulled.join("resource_types.json"));
    assert!(rts.to_string().contains(URN), "{rts}");
    // A second deploy: the URN exists and every attribute clashes with it.
    let out = schema(&emu, &["extend", "--file", f]).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let t = text(&out);
    assert!(t.contains("already has a schema"), "{t}");
    // Nine more fill the cap of ten; the eleventh is refused.
    for i in 2..=10 {
        let path = tmp.path().join(format!("ext{i}.toml"));
        std::fs::write(
            &path,
            format!(
                "id = \"urn:acme:ext{i}:2.0:User\"\nname = \"E{i}\"\n[[attribute]]\nname = \"a{i}\"\ntype = \"string\"\n"
            ),
        )
        .unwrap();
        let out = schema(&emu, &["extend", "--file", path.to_str().unwrap()]).await;
        assert_eq!(out.status.code(), Some(0), "ext {i}: {}", show(&out));
    }
    let path = tmp.path().join("ext11.toml");
    std::fs::write(
        &path,
        "id = \"urn:acme:ext11:2.0:User\"\nname = \"E11\"\n[[attribute]]\nname = \"a11\"\ntype = \"string\"\n",
    )
    .unwrap();
    let out = schema(&emu, &["extend", "--file", path.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(text(&out).contains("the cap is 10"), "{}", show(&out));
    assert!(!schema_ids(&emu).await.iter().any(|id| id.contains("ext11")));
}

const MAPPING: &str = r#"keys = ["externalId", "userName"]
[[field]]
path = "externalId"
column = "id"
[[field]]
path = "userName"
column = "email"
[[field]]
path = "displayName"
column = "name"
[[field]]
path = "urn:acme:params:scim:schemas:extension:hr:2.0:User:badgeNumber"
column = "badge"
[[field]]
path = "urn:acme:params:scim:schemas:extension:hr:2.0:User:remote"
column = "remote"
type = "boolean"
[[field]]
path = "urn:acme:params:scim:schemas:extension:hr:2.0:User:grade"
column = "grade"
type = "integer"
[[field]]
path = "urn:acme:params:scim:schemas:extension:hr:2.0:User:fte"
column = "fte"
type = "decimal"
[[field]]
path = "urn:acme:params:scim:schemas:extension:hr:2.0:User:contractEnd"
column = "end"
type = "dateTime"
"#;

fn write(dir: &Path, name: &str, grade_of_2: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let rows = [
        "id,email,name,badge,remote,grade,fte,end".to_string(),
        "E1,ana@example.com,Ana Lima,B-001,yes,3,1.0,2027-03-31".into(),
        format!("E2,ben@example.com,Ben Okafor,B-002,no,{grade_of_2},0.5,"),
        "E3,chloe@example.com,Chloe Martin,B-003,true,1,0.8,2026-12-31T17:00:00Z".into(),
    ];
    std::fs::write(&path, rows.join("\n") + "\n").unwrap();
    path
}

fn n(v: &Value, path: &str) -> u64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_u64()
        .unwrap_or_else(|| panic!("{path} missing in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_extension_attributes_are_mapped_imported_converged_and_patched() {
    let emu = extensions_emulator().await;
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mapping = tmp.path().join("mapping.toml");
    std::fs::write(&mapping, MAPPING).unwrap();
    let m = mapping.to_str().unwrap();
    let url = emu.url();
    let import = |csv: std::path::PathBuf| {
        let runs = runs.clone();
        let url = url.clone();
        let (id, secret) = (emu.client_id().to_string(), emu.client_secret().to_string());
        let m = m.to_string();
        async move {
            common::import_at(
                &id,
                &secret,
                &url,
                &runs,
                &[csv.to_str().unwrap(), "--mapping", &m],
            )
            .await
        }
    };
    // Before the extension is deployed, the pre-flight stops the run, saying how.
    let out = import(write(tmp.path(), "a.csv", "2")).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out).contains("scimport schema extend"),
        "{}",
        show(&out)
    );
    assert!(emu.users().is_empty(), "nothing written");

    let file = fixture("extension.toml");
    let out = schema(&emu, &["extend", "--file", file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));

    let out = import(write(tmp.path(), "a.csv", "2")).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(n(&s, "calls.post"), 3, "{s}");
    // GET on the emulator shows the values, typed.
    let token = common::token(&emu).await;
    let id = emu
        .users()
        .into_iter()
        .find(|u| u.user.external_id.as_deref() == Some("E1"))
        .and_then(|u| u.user.id)
        .expect("E1 created");
    let got: Value = common::http()
        .get(format!("{}/users/{id}", emu.scim_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET user")
        .json()
        .await
        .expect("json");
    assert_eq!(
        got[URN],
        serde_json::json!({"badgeNumber": "B-001", "remote": true, "grade": 3, "fte": 1.0,
                           "contractEnd": "2027-03-31T00:00:00Z"}),
        "{got}"
    );
    assert!(got["schemas"].to_string().contains(URN), "{got}");

    // The same input again: nothing to write.
    let out = import(write(tmp.path(), "b.csv", "2")).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(n(&s, "calls.post") + n(&s, "calls.patch"), 0, "{s}");

    // One value changed: one PATCH replacing only it.
    let out = import(write(tmp.path(), "c.csv", "4")).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(n(&s, "calls.patch"), 1, "{s}");
    assert_eq!(n(&s, "calls.post"), 0, "{s}");
    let e2 = emu
        .users()
        .into_iter()
        .find(|u| u.user.external_id.as_deref() == Some("E2"))
        .expect("E2");
    assert_eq!(
        e2.user.extensions.value(URN, "grade"),
        Some(&serde_json::json!(4)),
        "{:?}",
        e2.user.extensions
    );
    assert_eq!(
        e2.user.extensions.value(URN, "badgeNumber"),
        Some(&serde_json::json!("B-002"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_deployed_extensions_survive_a_restart_with_state() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state.json");
    let cfg = EmulatorConfig {
        schema_extensions: true,
        state: Some(state.clone()),
        ..EmulatorConfig::for_tests()
    };
    let emu = spawn(cfg.clone()).await.expect("emulator");
    let file = fixture("extension.toml");
    let out = schema(&emu, &["extend", "--file", file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    emu.save_state().expect("saved");
    drop(emu);
    let emu = spawn(cfg).await.expect("restarted");
    assert!(schema_ids(&emu).await.iter().any(|id| id == URN));
    // Still there, so a second deploy clashes.
    let out = schema(&emu, &["extend", "--file", file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_emulator_serves_a_deployed_extension_and_checks_user_values() {
    let plain = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let ext = scimport::scim::schema::extend::ExtensionFile::from_toml(
        &std::fs::read_to_string(fixture("extension.toml")).unwrap(),
    )
    .expect("fixture");
    let http = common::http();
    // Off (the default): 405, as Genesys has no POST on schemas.
    let resp = http
        .post(format!("{}/schemas", plain.scim_url()))
        .bearer_auth(common::token(&plain).await)
        .json(&ext.to_json())
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status().as_u16(), 405);

    let emu = extensions_emulator().await;
    let token = common::token(&emu).await;
    let post = |path: String, body: Value| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let resp = http
                .post(path)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("POST");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = post(format!("{}/schemas", emu.scim_url()), ext.to_json()).await;
    assert_eq!(status, 201, "{body}");
    let get = |path: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            http.get(path)
                .bearer_auth(token)
                .send()
                .await
                .expect("GET")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let one = get(format!("{}/schemas/{URN}", emu.scim_url())).await;
    assert_eq!(one["id"], URN, "{one}");
    assert_eq!(one["attributes"][0]["name"], "badgeNumber", "{one}");
    let user_rt = get(format!("{}/resourcetypes/User", emu.scim_url())).await;
    assert!(
        user_rt["schemaExtensions"]
            .as_array()
            .expect("schemaExtensions")
            .iter()
            .any(|e| e["schema"] == URN && e["required"] == false),
        "{user_rt}"
    );
    // (extension values, expected status)
    let cases = [
        (
            serde_json::json!({"badgeNumber": "B-9", "grade": 2, "shift": "late"}),
            201,
        ),
        (serde_json::json!({"grade": "two"}), 400),
        (serde_json::json!({"shift": "weekend"}), 400),
        (serde_json::json!({"remote": "yes"}), 400),
        (serde_json::json!({"nickname": "x"}), 400),
    ];
    for (i, (values, want)) in cases.into_iter().enumerate() {
        let user = serde_json::json!({"userName": format!("u{i}@example.com"),
            "displayName": format!("U {i}"), URN: values});
        let (status, body) = post(format!("{}/users", emu.scim_url()), user).await;
        assert_eq!(status, want, "case {i}: {body}");
        if want == 201 {
            assert_eq!(body[URN]["grade"], 2, "{body}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_sync_converges_on_extension_attributes() {
    let emu = extensions_emulator().await;
    let file = fixture("extension.toml");
    let out = schema(&emu, &["extend", "--file", file.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mapping = tmp.path().join("mapping.toml");
    std::fs::write(&mapping, MAPPING).unwrap();
    let sync = |csv: std::path::PathBuf, extra: &'static [&'static str]| {
        let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
        cmd.current_dir(tmp.path())
            .args(["sync", "--source"])
            .arg(&csv)
            .arg("--mapping")
            .arg(&mapping)
            .args([
                "--api-url",
                &emu.url(),
                "--rate",
                "off",
                "--quiet",
                "--runs-dir",
            ])
            .arg(&runs)
            .args(extra);
        let out = tokio::task::block_in_place(|| cmd.output().expect("run scimport sync"));
        let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(&runs)
            .expect("runs")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("summary.json").exists())
            .collect();
        dirs.sort();
        let s = read_json(&dirs.last().expect("a run").join("summary.json"));
        (out, s)
    };
    let (out, _) = sync(write(tmp.path(), "a.csv", "2"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    for extra in [&[][..], &["--full"][..]] {
        let (out, s) = sync(write(tmp.path(), "a.csv", "2"), extra);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", show(&out));
        assert_eq!(
            n(&s, "calls.patch") + n(&s, "calls.post"),
            0,
            "{extra:?}: {s}"
        );
    }
    let (out, s) = sync(write(tmp.path(), "b.csv", "5"), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(n(&s, "calls.patch"), 1, "{s}");
    let e2 = emu
        .users()
        .into_iter()
        .find(|u| u.user.external_id.as_deref() == Some("E2"))
        .expect("E2");
    assert_eq!(
        e2.user.extensions.value(URN, "grade"),
        Some(&serde_json::json!(5))
    );
}
