//! plan.parquet read back by pyarrow and DuckDB, and what the dry run prints.

use serde_json::Value;

use super::{Setup, python};
use crate::common::{last_run, read_json};

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
