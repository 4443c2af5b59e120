//! Issue 18: a dry run's plan.parquet, read by pyarrow and DuckDB, and `import
//! --plan <run-id>` applying exactly that plan (the real binary against the
//! emulator over loopback): exactly the planned writes, users changed since
//! planning left alone as `plan_stale`, an altered plan refused before any call.

use std::path::{Path, PathBuf};
use std::process::Output;

use scimport::emulator::{EmulatorConfig, EmulatorHandle, UserState, spawn};
use serde_json::Value;

use crate::common::{self, last_run, read_json, show};

const HEADER: &str = "employee_id,first_name,last_name,email,title,department,status";

const MAPPING: &str = r#"
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
template = "{first_name} {last_name}"

[[field]]
path = "title"
column = "title"
blank = "clear"

[[field]]
path = "active"
column = "status"
table = { active = "true", terminated = "false" }

[[field]]
path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
column = "department"
blank = "clear"
"#;

/// Row `i`: `E00i`, with this title and department.
fn row(i: u32, title: &str, dept: &str) -> String {
    format!("E00{i},Ana{i},Lima,ana{i}@example.com,{title},{dept},active")
}

fn write_csv(dir: &Path, name: &str, rows: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
    p
}

/// A tenant holding users 1-4, and an input that changes user 1's title, user 2's
/// title and department, leaves 3 and 4 alone and adds 5, 6 and 7: 3 creates, 2
/// updates (3 field changes), 2 unchanged.
struct Setup {
    emu: EmulatorHandle,
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    runs: PathBuf,
    mapping: PathBuf,
    input: PathBuf,
}

impl Setup {
    async fn new() -> Setup {
        let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let runs = dir.join("runs");
        let mapping = dir.join("mapping.toml");
        std::fs::write(&mapping, MAPPING).unwrap();
        let before: Vec<String> = (1..=4).map(|i| row(i, "Agent", "Support")).collect();
        let seed = write_csv(&dir, "seed.csv", &before);
        let s = Setup {
            emu,
            _tmp: tmp,
            input: dir.join("hr.csv"),
            dir,
            runs,
            mapping,
        };
        let out = s
            .import(&[seed.to_str().unwrap(), "--mapping", s.mapping()])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        let mut rows = vec![
            row(1, "Team Lead", "Support"),
            row(2, "Manager", "Sales"),
            row(3, "Agent", "Support"),
            row(4, "Agent", "Support"),
        ];
        rows.extend((5..=7).map(|i| row(i, "Agent", "Billing")));
        write_csv(&s.dir, "hr.csv", &rows);
        s
    }

    fn mapping(&self) -> &str {
        self.mapping.to_str().unwrap()
    }

    async fn import(&self, args: &[&str]) -> Output {
        let url = self.emu.url();
        common::import_at(
            self.emu.client_id(),
            self.emu.client_secret(),
            &url,
            &self.runs,
            args,
        )
        .await
    }

    /// The dry run of the changed input; returns its run directory.
    async fn dry_run(&self) -> PathBuf {
        let out = self
            .import(&[
                self.input.to_str().unwrap(),
                "--mapping",
                self.mapping(),
                "--dry-run",
            ])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        last_run(&self.runs)
    }

    async fn apply(&self, run: &Path) -> Output {
        let id = run.file_name().unwrap().to_str().unwrap();
        self.import(&["--plan", id]).await
    }

    fn calls(&self, method: &str) -> u64 {
        self.emu.stats().requests.get(method).copied().unwrap_or(0)
    }

    /// The live user with this externalId (exactly one).
    fn user(&self, x: &str) -> scimport::scim::model::User {
        let found: Vec<_> = self
            .emu
            .users()
            .into_iter()
            .filter(|u| u.state != UserState::Deleted && u.user.external_id.as_deref() == Some(x))
            .collect();
        assert_eq!(found.len(), 1, "users with externalId {x}: {found:?}");
        found[0].user.clone()
    }

    async fn scim(&self, method: reqwest::Method, path: &str, body: Value) {
        let token = common::token(&self.emu).await;
        let r = common::http()
            .request(method, format!("{}{path}", self.emu.scim_url()))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .json(&body)
            .send()
            .await
            .expect("scim call");
        assert!(
            r.status().is_success(),
            "{path}: {}",
            r.text().await.unwrap_or_default()
        );
    }
}

fn python(script: &str, args: &[&Path]) -> String {
    let out = std::process::Command::new(common::python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python {} (set SCIMPORT_PYTHON): {e}", common::python()));
    assert!(out.status.success(), "{}", show(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_plan_parquet_reads_back_in_pyarrow_and_duckdb() {
    let s = Setup::new().await;
    let run = s.dry_run().await;
    let plan = run.join("plan.parquet");
    assert!(!run.join("plan.jsonl").exists(), "plan.jsonl is gone");
    let summary = read_json(&run.join("summary.json"));
    let script = r#"
import sys, json, pyarrow.parquet as pq, duckdb
t = pq.read_table(sys.argv[1])
kv = pq.ParquetFile(sys.argv[1]).metadata.metadata
meta = {k.decode(): v.decode() for k, v in kv.items() if k.startswith(b"scimport.")}
rows = t.to_pylist()
con = duckdb.connect()
by_action = con.execute(f"select action, count(*) from '{sys.argv[1]}' group by action order by action").fetchall()
by_path = con.execute(f"select path, count(*) from '{sys.argv[1]}' where action = 'update' group by path order by path").fetchall()
creates = con.execute(f"select count(*) from '{sys.argv[1]}' where action = 'create' and path is null and after::json->>'userName' like 'ana%'").fetchone()[0]
print(json.dumps({"columns": t.column_names, "rows": rows, "meta": meta,
                  "by_action": by_action, "by_path": by_path, "creates": creates,
                  "path_type": str(t.schema.field("path").type)}))
"#;
    let v: Value = serde_json::from_str(&python(script, &[&plan])).expect("json");
    let columns: Vec<&str> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        &columns[..8],
        [
            "run_id",
            "row",
            "external_id",
            "user_name",
            "action",
            "path",
            "before",
            "after"
        ],
        "{columns:?}"
    );
    assert!(
        columns.contains(&"version") && columns.contains(&"op"),
        "{columns:?}"
    );
    assert!(
        v["path_type"].as_str().unwrap().starts_with("dictionary"),
        "{v}"
    );
    // 3 creates (one row each), user 1: one change, user 2: two; 3 and 4 absent.
    assert_eq!(
        v["by_action"],
        serde_json::json!([["create", 3], ["update", 3]]),
        "{v}"
    );
    assert_eq!(v["creates"], 3, "{v}");
    let paths: Vec<String> = v["by_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths.contains(&"title".to_string()), "{paths:?}");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["external_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"E003") && !ids.contains(&"E004"), "{ids:?}");
    let title = rows.iter().find(|r| r["external_id"] == "E001").unwrap();
    assert_eq!(
        (title["before"].as_str(), title["after"].as_str()),
        (Some("Agent"), Some("Team Lead"))
    );
    assert!(
        title["version"].is_string() && title["op"].as_str().unwrap().contains("Team Lead"),
        "{title}"
    );
    // The hashes: in the file's metadata and in summary.json.
    assert_eq!(
        v["meta"]["scimport.plan.sha256"], summary["plan"]["sha256"],
        "{v} {summary}"
    );
    assert_eq!(summary["plan"]["rows"], 6, "{summary}");
    assert_eq!(summary["plan"]["fields"]["title"], 2, "{summary}");
    let input_sha = scimport::journal::RunMeta::hash_input(&s.input).unwrap();
    assert_eq!(v["meta"]["scimport.plan.input_sha256"], input_sha);
    assert_eq!(summary["plan"]["input_sha256"], input_sha);
    assert_eq!(
        summary["plan"]["mapping_sha256"],
        scimport::journal::RunMeta::hash_input(&s.mapping).unwrap()
    );
    // The audit log notes the plan's hash.
    let audit = std::fs::read_to_string(run.join("audit.jsonl")).unwrap();
    assert!(
        audit.contains(summary["plan"]["sha256"].as_str().unwrap()),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_dry_run_prints_counts_a_readable_preview_and_the_apply_command() {
    let s = Setup::new().await;
    let out = s
        .import(&[
            s.input.to_str().unwrap(),
            "--mapping",
            s.mapping(),
            "--dry-run",
        ])
        .await;
    let text = String::from_utf8_lossy(&out.stdout);
    let id = last_run(&s.runs)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("plan: users per action: create: 3; update: 2"),
        "{text}"
    );
    assert!(
        text.contains("plan: changes per field: title: 2; "),
        "{text}"
    );
    assert!(
        text.contains(r#"row 1 update E001 (ana1@example.com): title "Agent" -> "Team Lead""#),
        "{text}"
    );
    let url = s.emu.url();
    let cmd = format!(
        "scimport import --plan {id} --api-url {url} --login-url {url} --runs-dir {}",
        s.runs.display()
    );
    assert!(text.contains(&cmd), "{cmd}\n{text}");
    assert!(!text.contains("\"changes\""), "no raw JSON: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_apply_sends_exactly_the_planned_writes() {
    let s = Setup::new().await;
    let run = s.dry_run().await;
    s.emu.reset_stats();
    let out = s.apply(&run).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // POSTs: 3 creates and the token.
    assert_eq!(
        (
            s.calls("POST"),
            s.calls("PATCH"),
            s.calls("PUT"),
            s.calls("DELETE")
        ),
        (4, 2, 0, 0)
    );
    let applied = last_run(&s.runs);
    assert_ne!(applied, run, "a run of its own");
    let summary = read_json(&applied.join("summary.json"));
    assert_eq!(
        summary["rows"], 5,
        "one ledger row per planned user: {summary}"
    );
    assert_eq!(
        (
            summary["done"]["created"].as_u64(),
            summary["done"]["updated"].as_u64()
        ),
        (Some(3), Some(2)),
        "{summary}"
    );
    assert_eq!(
        summary["applied_plan"]["run_id"],
        run.file_name().unwrap().to_str().unwrap()
    );
    assert_eq!(s.user("E001").title.as_deref(), Some("Team Lead"));
    assert_eq!(
        s.user("E002")
            .enterprise
            .and_then(|e| e.department)
            .as_deref(),
        Some("Sales")
    );
    // The tenant is what a normal import makes it: planning again finds nothing to do.
    let again = s.dry_run().await;
    let summary = read_json(&again.join("summary.json"));
    assert_eq!(summary["plan"]["users"], 0, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_users_changed_since_planning_are_plan_stale_and_untouched() {
    let s = Setup::new().await;
    let run = s.dry_run().await;
    // Meanwhile: user 1 is edited in the tenant, and user 5 is created there.
    let id = s.user("E001").id.unwrap();
    s.scim(
        reqwest::Method::PATCH,
        &format!("/Users/{id}"),
        serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Edited by hand"}]}),
    )
    .await;
    s.scim(
        reqwest::Method::POST,
        "/Users",
        serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "externalId": "E005", "userName": "ana5@example.com", "displayName": "Ana5 Lima",
            "title": "Made by hand"}),
    )
    .await;
    s.emu.reset_stats();
    let out = s.apply(&run).await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // POSTs: the 2 creates still due and the token.
    assert_eq!(
        (s.calls("POST"), s.calls("PATCH")),
        (3, 1),
        "{}",
        show(&out)
    );
    assert_eq!(s.user("E001").title.as_deref(), Some("Edited by hand"));
    assert_eq!(
        s.user("E005").title.as_deref(),
        Some("Made by hand"),
        "no duplicate, untouched"
    );
    let applied = last_run(&s.runs);
    let summary = read_json(&applied.join("summary.json"));
    assert_eq!(summary["error_kinds"]["plan_stale"], 2, "{summary}");
    assert_eq!(summary["done"]["plan_stale"], 2, "{summary}");
    assert_eq!(summary["outcomes"]["skipped"], 2, "{summary}");
    assert_eq!(
        summary["applied_plan"]["stale_rows"],
        serde_json::json!([1, 5]),
        "{summary}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let replan = format!(
        "plan again with: scimport import {} --mapping {} --dry-run",
        s.input.display(),
        s.mapping.display()
    );
    assert!(text.contains(&replan), "{replan}\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_altered_plan_is_refused_before_any_call() {
    let s = Setup::new().await;
    let run = s.dry_run().await;
    let plan = run.join("plan.parquet");
    let original = std::fs::read(&plan).unwrap();
    let count = || std::fs::read_dir(&s.runs).unwrap().count();
    let runs_before = count();
    // One `after` value rewritten with pyarrow, the file's metadata (hashes
    // included) carried over.
    let script = r#"
import sys, pyarrow as pa, pyarrow.parquet as pq
kv = pq.ParquetFile(sys.argv[1]).metadata.metadata
t = pq.read_table(sys.argv[1])
after = t.column("after").to_pylist()
after = ["CEO" if a == "Team Lead" else a for a in after]
t = t.set_column(t.column_names.index("after"), "after", pa.array(after, pa.string()))
keep = {k: v for k, v in kv.items() if k.startswith(b"scimport.")}
t = t.replace_schema_metadata({**(t.schema.metadata or {}), **keep})
pq.write_table(t, sys.argv[1])
"#;
    python(script, &[&plan]);
    assert_ne!(std::fs::read(&plan).unwrap(), original);
    s.emu.reset_stats();
    let out = s.apply(&run).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("altered"), "{err}");
    assert_eq!(
        s.emu.stats().requests.values().sum::<u64>(),
        0,
        "no call at all"
    );
    assert_eq!(count(), runs_before, "no run directory left");
    assert_eq!(s.user("E001").title.as_deref(), Some("Agent"));
    // Bytes flipped in the middle of the file: refused too.
    let mut bytes = original.clone();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 16] {
        *b ^= 0xff;
    }
    std::fs::write(&plan, bytes).unwrap();
    let out = s.apply(&run).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    // Truncated: refused.
    std::fs::write(&plan, &original[..original.len() - 100]).unwrap();
    let out = s.apply(&run).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert_eq!(
        s.emu.stats().requests.values().sum::<u64>(),
        0,
        "no call at all"
    );
    assert_eq!(count(), runs_before, "no run directory left");
    // A run that was not a dry run has no plan to apply.
    let seed = s
        .runs
        .read_dir()
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .min()
        .unwrap();
    let out = s.apply(&seed).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a dry run"),
        "{}",
        show(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_input_changed_since_planning_warns_and_still_applies() {
    let s = Setup::new().await;
    let run = s.dry_run().await;
    let mut text = std::fs::read_to_string(&s.input).unwrap();
    text.push_str(&row(8, "Agent", "Claims"));
    text.push('\n');
    std::fs::write(&s.input, text).unwrap();
    s.emu.reset_stats();
    let out = s.apply(&run).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: the input file") && err.contains("changed since planning"),
        "{err}"
    );
    assert!(!err.contains("the mapping file"), "{err}");
    assert_eq!(
        (s.calls("POST"), s.calls("PATCH")),
        (4, 2),
        "the plan as reviewed, not row 8 (POSTs: 3 and the token)"
    );
    let summary = read_json(&last_run(&s.runs).join("summary.json"));
    assert_eq!(summary["rows"], 5, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_managers_created_by_the_same_plan_are_set_after_its_creates() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    // Rows 11-30 report to rows 1-10: all created by the same plan.
    let csv = common::write_csv(tmp.path(), "hr.csv", &common::hr_rows(30));
    let url = emu.url();
    let import = |args: Vec<String>| {
        let (id, secret, url, runs) = (
            emu.client_id().to_string(),
            emu.client_secret().to_string(),
            url.clone(),
            runs.clone(),
        );
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            common::import_at(&id, &secret, &url, &runs, &args).await
        }
    };
    let out = import(vec![
        csv.display().to_string(),
        "--mapping".into(),
        "fixtures/mapping.toml".into(),
        "--dry-run".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let plan = common::plan_users(&last_run(&runs).join("plan.parquet"));
    assert_eq!(
        plan.iter()
            .filter(|u| u.deferred_manager().is_some())
            .count(),
        20
    );
    let out = import(vec!["--plan".into(), "latest".into()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("group memberships, which --plan does not apply"),
        "{err}"
    );
    let users = emu.users();
    let id_of = |x: &str| {
        users
            .iter()
            .find(|u| u.user.external_id.as_deref() == Some(x))
            .and_then(|u| u.user.id.clone())
            .unwrap_or_else(|| panic!("{x} not created"))
    };
    for i in 11..=30 {
        let me = users
            .iter()
            .find(|u| u.user.external_id.as_deref() == Some(&format!("E{i:06}")))
            .expect("created");
        let manager = me.user.enterprise.as_ref().and_then(|e| e.manager.as_ref());
        assert_eq!(
            manager.map(|m| m.value.clone()),
            Some(id_of(&format!("E{:06}", i % 10 + 1))),
            "row {i}"
        );
    }
}

/// `import --plan` goes through the engine's journal: stopped mid-run by a write
/// error (the importer's files hit a size limit, as in `resume.rs`), its
/// `--resume` finishes it from the plan, creating every planned user exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_a_stopped_plan_apply_resumes_from_the_plan() {
    assert!(
        std::process::Command::new("prlimit")
            .arg("--version")
            .output()
            .is_ok(),
        "this test needs prlimit (util-linux)"
    );
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let total = 300;
    let csv = common::write_csv(tmp.path(), "hr.csv", &common::hr_rows(total));
    let url = emu.url();
    let (id, secret) = (emu.client_id().to_string(), emu.client_secret().to_string());
    // `scimport import ARGS` against the emulator, its files capped at 60,000
    // bytes when `cap` (SIGXFSZ ignored: a write past the cap fails with EFBIG).
    let run = |cap: bool, args: &[&str]| {
        let script = if cap {
            "trap '' XFSZ; exec prlimit --fsize=60000 \"$@\""
        } else {
            "exec \"$@\""
        };
        let out = std::process::Command::new("sh")
            .args(["-c", script, "sh", env!("CARGO_BIN_EXE_scimport"), "import"])
            .args(args)
            .args([
                "--api-url",
                &url,
                "--rate",
                "off",
                "--concurrency",
                "4",
                "--quiet",
            ])
            .arg("--runs-dir")
            .arg(&runs)
            .env("GENESYS_CLIENT_ID", &id)
            .env("GENESYS_CLIENT_SECRET", &secret)
            .env_remove("RUST_LOG")
            .output();
        out.expect("run scimport")
    };
    let csv_arg = csv.display().to_string();
    let out = tokio::task::block_in_place(|| {
        run(
            false,
            &[&csv_arg, "--mapping", "fixtures/mapping.toml", "--dry-run"],
        )
    });
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let plan_id = last_run(&runs)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    // The apply's journal hits the cap mid-run.
    let out = tokio::task::block_in_place(|| run(true, &["--plan", &plan_id]));
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let applied = last_run(&runs);
    let created = emu.users().len();
    assert!(
        created > 0 && created < total,
        "{created} created before the stop"
    );
    let applied_id = applied.file_name().unwrap().to_str().unwrap().to_string();
    let out = tokio::task::block_in_place(|| run(false, &["--resume", &applied_id]));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let mut by_ext = std::collections::HashMap::<String, usize>::new();
    for u in emu.users() {
        *by_ext
            .entry(u.user.external_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    assert_eq!(by_ext.len(), total, "every planned user");
    assert!(by_ext.values().all(|c| *c == 1), "a user was created twice");
    let summary = read_json(&applied.join("summary.json"));
    assert_eq!(summary["rows"], total, "{summary}");
    assert_eq!(summary["outcomes"]["succeeded"], total, "{summary}");
}
