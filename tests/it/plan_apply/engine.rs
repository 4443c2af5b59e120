//! What `import --plan` shares with any run of the engine: the pass that sets
//! managers created later in the run, and `--resume` after a stop.

use scimport::emulator::{EmulatorConfig, spawn};

use crate::common::{self, last_run, read_json, show};

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
    // Each manager precedes its reports in the plan: the engine holds a report
    // until its manager exists, and the POST carries it. No user PATCH at all.
    let audit = std::fs::read_to_string(last_run(&runs).join("audit.jsonl")).unwrap();
    let user_patches = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["kind"] == "call" && v["method"] == "PATCH")
        .filter(|v| {
            v["path"]
                .as_str()
                .is_some_and(|p| p.contains("/Users/") || p.contains("/users/"))
        })
        .count();
    assert_eq!(
        user_patches, 0,
        "a manager PATCH the POST could have carried"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("--plan does not apply"), "{err}");
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
    // Every planned join landed, those of users created before the stop too.
    let planned: usize = common::plan_users(&runs.join(&plan_id).join("plan.parquet"))
        .iter()
        .filter_map(|u| u.memberships().expect("readable"))
        .map(|m| m.add.len())
        .sum();
    let token = common::token(&emu).await;
    let page: serde_json::Value = common::http()
        .get(format!("{}/Groups?count=25", emu.scim_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("list groups")
        .json()
        .await
        .expect("a group page");
    let members: usize = page["Resources"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["members"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(planned > 0);
    assert_eq!(members, planned, "members in the tenant's groups");
}

/// Users already up to date but for a manager this plan creates are in the plan
/// (an update with no PATCH op), and `--plan` links them after the creates, as a
/// normal import does: after the apply, a new dry run plans nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_a_plan_links_existing_users_to_the_managers_it_creates() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let rows = common::hr_rows(30);
    // First only rows 11-30: their managers (rows 1-10) are not there yet.
    let reports = common::write_csv(tmp.path(), "reports.csv", &rows[10..]);
    let all = common::write_csv(tmp.path(), "all.csv", &rows);
    let (id, secret, url) = (emu.client_id(), emu.client_secret(), emu.url());
    let run = |args: Vec<String>| {
        let runs = runs.clone();
        let url = url.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            common::import_at(id, secret, &url, &runs, &args).await
        }
    };
    let file = |p: &std::path::Path| {
        vec![
            p.display().to_string(),
            "--mapping".into(),
            "fixtures/mapping.toml".into(),
        ]
    };
    let out = run(file(&reports)).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let mut dry = file(&all);
    dry.push("--dry-run".into());
    let out = run(dry.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let plan = common::plan_users(&last_run(&runs).join("plan.parquet"));
    let links = plan
        .iter()
        .filter(|u| u.action.as_str() == "update" && u.deferred_manager().is_some())
        .count();
    assert_eq!(links, 20, "the 20 reports wait for their new manager");
    let out = run(vec!["--plan".into(), "latest".into()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = run(dry).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let again = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(again["plan"]["users"], 0, "nothing left to plan: {again}");
}
