//! `import --plan`: exactly the planned writes, users changed since planning left
//! alone (`plan_stale`), an altered plan refused before any call, a changed input
//! named in a warning.

use super::{Setup, python, row};
use crate::common::{last_run, read_json, show};

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
    // The plan's hash, verified, is in the applied run's summary and audit log.
    let planned = read_json(&run.join("summary.json"))["plan"]["sha256"].clone();
    assert_eq!(summary["applied_plan"]["sha256"], planned);
    let audit = std::fs::read_to_string(applied.join("audit.jsonl")).unwrap();
    assert!(audit.contains(planned.as_str().unwrap()), "{audit}");
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
    // A dry run that did not finish (crashed: no summary.json) is refused too.
    std::fs::write(&plan, &original).unwrap();
    std::fs::remove_file(run.join("summary.json")).unwrap();
    let out = s.apply(&run).await;
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did not finish"),
        "{}",
        show(&out)
    );
    assert_eq!(
        s.emu.stats().requests.values().sum::<u64>(),
        0,
        "no call at all"
    );
    assert_eq!(count(), runs_before, "no run directory left");
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
