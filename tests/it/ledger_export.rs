//! Issue 18 item 4: `scimport ledger export` over the real binary after a real
//! import into `scimport emulator`: the success file carries the Genesys id each
//! user really got (what an HR system writes back), the error file the rows that
//! did not go, DuckDB reads every format, and the printed retry runs as printed.

use std::collections::HashMap;

use crate::common::{last_run, python, read_json, scimport, show};

fn run(emu: &scimport::emulator::EmulatorHandle, args: &[&str]) -> std::process::Output {
    let mut cmd = scimport(emu.client_id(), emu.client_secret());
    cmd.args(args);
    tokio::task::block_in_place(|| cmd.output().expect("run scimport"))
}

fn csv_rows(path: &std::path::Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_ledger_export_writes_back_real_ids_and_splits_errors() {
    let emu = scimport::emulator::spawn(scimport::emulator::EmulatorConfig::for_tests())
        .await
        .expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("my runs");
    let url = emu.url();
    let out = crate::import::import(
        &emu,
        &runs,
        &["fixtures/hr_export.csv", "-m", "fixtures/mapping.toml"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let dir = last_run(&runs);
    let summary = read_json(&dir.join("summary.json"));
    let runs_arg = runs.to_str().unwrap();

    // --split: success.csv and error.csv in the run directory.
    let out = run(
        &emu,
        &[
            "ledger",
            "export",
            "latest",
            "--split",
            "--runs-dir",
            runs_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ok = csv_rows(&dir.join("success.csv"));
    let bad = csv_rows(&dir.join("error.csv"));
    let outcome = |o: &str| summary["outcomes"][o].as_u64().unwrap_or(0) as usize;
    assert_eq!(ok.len(), outcome("succeeded") + outcome("skipped"));
    assert_eq!(bad.len(), outcome("failed") + outcome("invalid"));
    assert!(
        bad.len() >= 13 && ok.len() > 150,
        "{} / {}",
        ok.len(),
        bad.len()
    );
    assert!(
        bad.iter()
            .all(|r| r["outcome"] == "invalid" || r["outcome"] == "failed")
    );
    assert!(
        bad.iter()
            .all(|r| !r["error_kind"].is_empty() && !r["error"].is_empty())
    );

    // Every created user's id is the id the tenant gave it.
    let tenant: HashMap<String, String> = emu
        .users()
        .into_iter()
        .filter_map(|u| Some((u.user.external_id.clone()?, u.user.id.clone()?)))
        .collect();
    let created: Vec<_> = ok.iter().filter(|r| r["action"] == "create").collect();
    assert_eq!(
        created.len(),
        tenant.len(),
        "one created row per tenant user"
    );
    for r in created {
        assert_eq!(
            tenant.get(&r["external_id"]),
            Some(&r["scim_id"]),
            "row {}",
            r["row"]
        );
    }

    // The printed retry keeps the target and the runs dir, and runs as printed.
    let text = String::from_utf8_lossy(&out.stdout);
    let retry = text
        .lines()
        .find_map(|l| l.strip_prefix("fix the failed rows, then: "))
        .unwrap_or_else(|| panic!("a retry command:\n{}", show(&out)))
        .to_string();
    assert!(retry.contains(&format!("--api-url {url}")), "{retry}");
    let words = shell_words(&retry);
    let mut again: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
    again.extend(["--rate", "off", "--quiet"]);
    let out = run(&emu, &again);
    let retried = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(
        retried["rows"].as_u64(),
        Some(bad.len() as u64),
        "{}",
        show(&out)
    );

    // One format per flag; the whole ledger and a filter; DuckDB reads each as is.
    let first = dir.file_name().unwrap().to_str().unwrap();
    let export = |format: &str, extra: &[&str]| {
        let file = tmp.path().join(format!("all-{format}-{}.out", extra.len()));
        let mut args = vec!["ledger", "export", first, "--format", format];
        args.extend(extra);
        args.extend(["--runs-dir", runs_arg, "-o", file.to_str().unwrap()]);
        let out = run(&emu, &args);
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        file
    };
    let (csv, json, ndjson) = (
        export("csv", &[]),
        export("json", &[]),
        export("ndjson", &[]),
    );
    let only = export("json", &["--outcome", "invalid,failed"]);
    let script = format!(
        "import duckdb\n\
         c = duckdb.connect()\n\
         n = lambda q: c.execute(q).fetchone()[0]\n\
         print(n(\"select count(*) from read_csv('{csv}', header=true)\"),\n\
               n(\"select count(*) from read_json('{json}', format='array')\"),\n\
               n(\"select count(*) from read_json('{ndjson}', format='newline_delimited')\"),\n\
               n(\"select count(*) from read_json('{only}', format='array')\"),\n\
               n(\"select count(*) from read_parquet('{pq}')\"))",
        csv = csv.display(),
        json = json.display(),
        ndjson = ndjson.display(),
        only = only.display(),
        pq = dir.join("ledger.parquet").display(),
    );
    let out = std::process::Command::new(python())
        .args(["-c", &script])
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", show(&out));
    let rows = summary["rows"].as_u64().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{rows} {rows} {rows} {} {rows}", bad.len())
    );
}

/// Splits a printed command as a POSIX shell would (single quotes only: what
/// `shell_quote` emits).
fn shell_words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in cmd.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}
