//! `--metrics-file` (issue 17, item 5): a run's metrics as Prometheus text, parsed
//! by an independent parser (`prometheus_client` from PyPI), and as JSON; the last
//! success time survives a run that does not succeed.

use scimport::emulator::{EmulatorConfig, spawn};

use crate::common::{self, hr_rows, write_csv};

/// The samples of a `.prom` file as `name{labels} value` lines, parsed by
/// prometheus_client's text parser.
fn parse_prom(path: &std::path::Path) -> Vec<String> {
    let script = "import sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        for fam in text_string_to_metric_families(open(sys.argv[1]).read()):\n\
        \x20   assert fam.type == 'gauge', fam.type\n\
        \x20   for s in fam.samples:\n\
        \x20       labels = ','.join(f'{k}={v}' for k, v in sorted(s.labels.items()))\n\
        \x20       print(f'{s.name}{{{labels}}} {s.value}')\n";
    let out = std::process::Command::new(common::python())
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", common::show(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn value(samples: &[String], prefix: &str) -> f64 {
    samples
        .iter()
        .find_map(|s| s.strip_prefix(prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in {samples:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_import_metrics_parse_as_prometheus_text_and_keep_the_last_success() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().expect("tmp");
    let mut rows = hr_rows(30);
    let good = write_csv(tmp.path(), "good.csv", &rows);
    rows[3] = rows[3].replace("@example.com", "@@bad");
    let bad = write_csv(tmp.path(), "bad.csv", &rows);
    let prom = tmp.path().join("scimport.prom");
    let json = tmp.path().join("scimport.json");
    let run = |input: &std::path::Path, metrics: &std::path::Path| {
        tokio::task::block_in_place(|| {
            common::scimport(emu.client_id(), emu.client_secret())
                .arg("import")
                .arg(input)
                .args([
                    "--mapping",
                    "fixtures/mapping.toml",
                    "--rate",
                    "off",
                    "--quiet",
                ])
                .args(["--api-url", &emu.url(), "--runs-dir"])
                .arg(tmp.path().join("runs"))
                .arg("--metrics-file")
                .arg(metrics)
                .current_dir(common::root())
                .output()
                .expect("import")
        })
    };
    let out = run(&good, &prom);
    assert_eq!(out.status.code(), Some(0), "{}", common::show(&out));
    let s = parse_prom(&prom);
    assert_eq!(
        value(&s, "scimport_run_rows{command=import,outcome=succeeded} "),
        30.0
    );
    assert_eq!(
        value(&s, "scimport_run_actions{action=create,command=import} "),
        30.0
    );
    assert_eq!(value(&s, "scimport_run_success{command=import} "), 1.0);
    assert!(value(&s, "scimport_run_calls{command=import,method=POST} ") >= 30.0);
    assert!(
        value(
            &s,
            "scimport_run_call_latency_seconds{command=import,quantile=0.5} "
        ) > 0.0
    );
    let first = value(
        &s,
        "scimport_last_success_timestamp_seconds{command=import} ",
    );
    assert!(first > 1.7e9, "{first}");

    // A run with an invalid row does not succeed: the last success time stays.
    let out = run(&bad, &prom);
    assert_eq!(out.status.code(), Some(1), "{}", common::show(&out));
    let s = parse_prom(&prom);
    assert_eq!(value(&s, "scimport_run_success{command=import} "), 0.0);
    assert_eq!(
        value(&s, "scimport_run_rows{command=import,outcome=invalid} "),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "scimport_last_success_timestamp_seconds{command=import} "
        ),
        first
    );

    // JSON for anything else.
    let out = run(&good, &json);
    assert_eq!(out.status.code(), Some(0), "{}", common::show(&out));
    let v = common::read_json(&json);
    assert_eq!(v["command"], "import");
    assert_eq!(v["run_rows"]["skipped"], 30.0);
    assert_eq!(v["run_success"], 1.0);
    let summary =
        common::read_json(&common::last_run(&tmp.path().join("runs")).join("summary.json"));
    assert_eq!(
        summary["success_rate"], 1.0,
        "summary.json gains the success rate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_17_sync_metrics_carry_the_share_of_attributes_already_matching() {
    use crate::sync::{Bench, csv, people};
    let b = Bench::new().await;
    let mut staff = people(10);
    b.source(&csv(&staff));
    let prom = b.runs().with_file_name("sync.prom");
    let flag = ["--metrics-file", prom.to_str().unwrap()];
    let first = b.sync(&flag);
    assert_eq!(first.code(), Some(0), "{}", first.text());
    // Only creates: nothing compared, so no ratio (not a false 0 or 1).
    let samples = parse_prom(&prom);
    assert!(
        !samples
            .iter()
            .any(|s| s.starts_with("scimport_sync_attributes_matching_ratio")),
        "{samples:#?}"
    );
    assert_eq!(
        value(&samples, "scimport_sync_source_rows{command=sync}"),
        10.0
    );

    // Two of the 10 users change one attribute each: 7 fields per user.
    staff[1].title = "Lead".into();
    staff[2].dept = "Claims".into();
    b.source(&csv(&staff));
    let again = b.sync(&flag);
    assert_eq!(again.code(), Some(0), "{}", again.text());
    let samples = parse_prom(&prom);
    let ratio = value(
        &samples,
        "scimport_sync_attributes_matching_ratio{command=sync}",
    );
    assert!((ratio - 68.0 / 70.0).abs() < 1e-9, "{samples:#?}");
}
