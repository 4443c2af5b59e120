//! End-to-end tests of `scimport report` (issue 18): a real import with the real
//! binary, then its report rendered by a real browser (Debian's chromium,
//! headless): the outcome counts in the page equal summary.json's, the page loads
//! nothing from the network, and its screenshot is not blank.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use scimport::emulator::{EmulatorConfig, spawn};
use serde_json::Value;

use crate::common::{self, fixture, hr_rows, last_run, read_json, show, write_csv};

/// Links to documentation the page may hold. It holds none today: every `http`
/// URL found in a page is a failure unless listed here.
const DOC_LINKS: [&str; 0] = [];

/// The chromium binary: $SCIMPORT_CHROMIUM, else `chromium` (Debian) or
/// `chromium-browser` on PATH. Missing, the test fails: it never skips.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("SCIMPORT_CHROMIUM") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "chromium is not installed (neither `chromium` nor `chromium-browser` on PATH, and \
         SCIMPORT_CHROMIUM is unset): the report tests need a real browser; \
         `apt-get install chromium` (.ci/run does)"
    );
}

/// Runs headless chromium on `page` with `args`, in a profile of its own (tests run
/// in parallel), and returns its output.
fn browser(page: &Path, args: &[&str]) -> Output {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", show(&out));
    out
}

/// The page as chromium parsed it.
fn dump_dom(page: &Path) -> String {
    String::from_utf8(browser(page, &["--dump-dom"]).stdout).expect("utf-8 DOM")
}

/// A 1200×2400 screenshot of the page, decoded: (distinct colours, share of
/// pixels that are not white-ish).
fn screenshot(page: &Path) -> (usize, f64) {
    let dir = tempfile::tempdir().expect("tmp");
    let png = dir.path().join("shot.png");
    browser(
        page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,2400",
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png).expect("screenshot written"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let bytes = &buf[..info.buffer_size()];
    let step = info.color_type.samples();
    assert!(step >= 3, "an RGB screenshot, got {:?}", info.color_type);
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0usize;
    let pixels = bytes.len() / step;
    for px in bytes.chunks_exact(step) {
        colours.insert((px[0], px[1], px[2]));
        if px[..3].iter().any(|&c| c < 235) {
            inked += 1;
        }
    }
    (colours.len(), inked as f64 / pixels as f64)
}

/// An HR row (no quoted commas in `hr_rows`) with column `i` set to `value`.
fn with_column(row: &str, i: usize, value: &str) -> String {
    let mut cols: Vec<&str> = row.split(',').collect();
    cols[i] = value;
    cols.join(",")
}

/// `scimport report ARGS`, which must succeed; returns the printed path.
fn report(runs: &Path, args: &[&str]) -> PathBuf {
    let out = Command::new(env!("CARGO_BIN_EXE_scimport"))
        .arg("report")
        .args(args)
        .arg("--runs-dir")
        .arg(runs)
        .env_remove("RUST_LOG")
        .output()
        .expect("run scimport report");
    assert!(out.status.success(), "{}", show(&out));
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(path.is_file(), "the printed path exists: {}", show(&out));
    path
}

/// Every `data-NAME="key">count<` in `dom`.
fn marked(dom: &str, name: &str) -> BTreeMap<String, u64> {
    let re = regex::Regex::new(&format!(r#"data-{name}="([^"]*)">([0-9]+)<"#)).expect("regex");
    re.captures_iter(dom)
        .map(|c| (c[1].to_string(), c[2].parse().expect("a count")))
        .collect()
}

/// A map of a summary.json object's numbers.
fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .expect("an object")
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().expect("a count")))
        .collect()
}

/// The page loads nothing: no script, no external stylesheet, image or frame, and
/// no `http(s)` URL but the whitelisted documentation links (and `allowed`, text
/// the test names, e.g. the run's own target in a printed command).
fn assert_self_contained(html: &str, allowed: &[&str]) {
    let lower = html.to_lowercase();
    for banned in [
        "<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url(", " src=",
    ] {
        assert!(!lower.contains(banned), "the page holds {banned:?}");
    }
    let re = regex::Regex::new(r#"https?://[^\s"'<>)]*"#).expect("regex");
    for m in re.find_iter(html) {
        let url = m.as_str();
        assert!(
            DOC_LINKS.contains(&url) || allowed.iter().any(|a| url.starts_with(a)),
            "the page names {url}, which is neither a whitelisted documentation link nor \
             allowed here"
        );
    }
    assert!(
        !lower.contains("href=\"http") && !lower.contains("href='http"),
        "no link leaves the page"
    );
}

/// The sample imported into the embedded emulator: the real binary, a real run.
fn sample_import(runs: &Path) -> std::process::Output {
    let runs = runs.to_str().expect("a UTF-8 path");
    crate::cli_experience::embedded(&[
        "import",
        "fixtures/hr_export.csv",
        "--mapping",
        "fixtures/mapping.toml",
        "--runs-dir",
        runs,
        "--quiet",
    ])
}

#[test]
fn issue_18_sample_import_report_renders_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = sample_import(&runs);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let run = last_run(&runs);
    let summary = read_json(&run.join("summary.json"));
    // The import names the command that writes its page, complete: run as printed.
    let text = String::from_utf8_lossy(&out.stdout);
    let printed = text
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .and_then(|l| l.split(" (").next())
        .unwrap_or_else(|| panic!("a report hint:\n{}", show(&out)));
    let words: Vec<String> = printed
        .split_whitespace()
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    assert_eq!(words[..2], ["scimport", "report"], "{printed}");
    assert!(words.contains(&"--runs-dir".to_string()), "{printed}");
    let hinted = Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args(&words[1..])
        .output()
        .expect("run the printed command");
    assert!(hinted.status.success(), "{}", show(&hinted));
    assert!(run.join("report.html").is_file());
    std::fs::remove_file(run.join("report.html")).unwrap();

    let page = report(&runs, &["latest"]);
    assert_eq!(page, run.join("report.html"));
    let html = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&html, &[]);
    assert!(html.contains("name=\"viewport\""), "readable on a phone");
    assert!(html.contains("@media print"), "readable on paper");

    let dom = dump_dom(&page);
    assert_self_contained(&dom, &[]);
    assert_eq!(marked(&dom, "outcome"), counts(&summary["outcomes"]));
    assert_eq!(marked(&dom, "action"), counts(&summary["actions"]));
    let rows: u64 = regex::Regex::new(r#"data-rows="([0-9]+)""#)
        .unwrap()
        .captures(&dom)
        .expect("rows marked")[1]
        .parse()
        .unwrap();
    assert_eq!(rows, summary["rows"].as_u64().unwrap());
    assert_eq!(marked(&dom, "error-kind"), counts(&summary["error_kinds"]));
    let calls: u64 = regex::Regex::new(r#"data-calls="([0-9]+)""#)
        .unwrap()
        .captures(&dom)
        .expect("calls marked")[1]
        .parse()
        .unwrap();
    assert_eq!(calls, summary["calls"]["total"].as_u64().unwrap());
    // The charts are inline SVG, as the browser parsed them.
    assert!(dom.matches("<svg").count() >= 4, "four charts");
    // The audit head and the command that verifies it.
    let head = summary["audit_head"].as_str().unwrap();
    assert!(dom.contains(&format!("sha256:{head}")));
    let id = run.file_name().unwrap().to_string_lossy().to_string();
    assert!(dom.contains(&format!("scimport audit verify {id}")));
    // The embedded emulator keeps no tenant: no retry command to print.
    assert!(!dom.contains("id=\"retry-command\""));

    let (colours, inked) = screenshot(&page);
    assert!(
        colours >= 50,
        "a blank-looking screenshot: {colours} colours"
    );
    assert!(inked > 0.05, "a blank-looking screenshot: {inked:.3} inked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_failed_rows_show_examples_escaped_and_the_exact_retry_command() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mut rows = hr_rows(12);
    // Row 3: a hostile e-mail, invalid, whose value lands in the page.
    rows[2] = with_column(&rows[2], 3, "<script>alert(1)</script>@x");
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    let url = emu.url();
    let out = crate::import::import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            fixture("mapping.toml").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let run = last_run(&runs);
    let id = run.file_name().unwrap().to_string_lossy().to_string();
    let summary = read_json(&run.join("summary.json"));

    let page = report(&runs, &[&id]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains(emu.client_secret()),
        "the client secret is nowhere in the page"
    );
    // The run's own target is named in the retry command (text, never a link).
    assert_self_contained(&html, &[&url]);
    let dom = tokio::task::spawn_blocking(move || dump_dom(&page))
        .await
        .unwrap();
    assert_self_contained(&dom, &[&url]);
    assert!(!dom.contains("<script>alert"), "the value is escaped");
    assert!(
        dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;@x"),
        "{dom}"
    );
    assert_eq!(marked(&dom, "outcome"), counts(&summary["outcomes"]));
    assert_eq!(marked(&dom, "error-kind"), counts(&summary["error_kinds"]));
    assert_eq!(marked(&dom, "error-kind")["invalid_email"], 1);

    let retry = regex::Regex::new(r#"<pre id="retry-command">([^<]*)</pre>"#)
        .unwrap()
        .captures(&dom)
        .expect("a retry command")[1]
        .to_string();
    let want = format!(
        "scimport import --retry-failed {id} --api-url {url} --login-url {url} --runs-dir {}",
        runs.display()
    );
    assert_eq!(retry, want);
    // The command runs as printed: a retry of this run (the row is still invalid).
    let cmd = retry.replacen("scimport", env!("CARGO_BIN_EXE_scimport"), 1);
    let out = tokio::task::spawn_blocking({
        let (cid, secret) = (emu.client_id().to_string(), emu.client_secret().to_string());
        move || {
            Command::new("sh")
                .args(["-c", &format!("{cmd} --rate off --quiet")])
                .env("GENESYS_CLIENT_ID", cid)
                .env("GENESYS_CLIENT_SECRET", secret)
                .env_remove("RUST_LOG")
                .output()
                .expect("run the retry command")
        }
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let retried = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(
        retried["rows"].as_u64(),
        Some(1),
        "only the failed row ran again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_dry_run_report_shows_the_changes_per_field() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let mapping = fixture("mapping.toml");
    let mapping = mapping.to_str().unwrap();
    let rows = hr_rows(20);
    let csv = write_csv(tmp.path(), "hr.csv", &rows);
    let url = emu.url();
    let import = |args: Vec<String>| {
        let runs = runs.clone();
        let (cid, secret, url) = (
            emu.client_id().to_string(),
            emu.client_secret().to_string(),
            url.clone(),
        );
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            common::import_at(&cid, &secret, &url, &runs, &args).await
        }
    };
    let out = import(vec![
        csv.display().to_string(),
        "--mapping".into(),
        mapping.into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // Five new titles, two new departments.
    let edited: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| match i {
            0..5 => with_column(r, 6, "Senior Agent"),
            18.. => with_column(r, 7, "Retention"),
            _ => r.clone(),
        })
        .collect();
    let csv = write_csv(tmp.path(), "hr2.csv", &edited);
    let out = import(vec![
        csv.display().to_string(),
        "--mapping".into(),
        mapping.into(),
        "--dry-run".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let summary = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(summary["dry_run"], true);

    let page = report(&runs, &["latest"]);
    let dom = tokio::task::spawn_blocking(move || dump_dom(&page))
        .await
        .unwrap();
    // The run's target is named (as text) in the header.
    assert_self_contained(&dom, &[&url]);
    assert_eq!(marked(&dom, "outcome"), counts(&summary["outcomes"]));
    let fields = marked(&dom, "field");
    assert_eq!(fields.get("title"), Some(&5), "{fields:?}");
    let department = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
    assert_eq!(fields.get(department), Some(&2), "{fields:?}");
    assert_eq!(fields.len(), 2, "only what changes is listed: {fields:?}");
    assert!(dom.contains("(dry run)"));
}

#[test]
fn issue_18_an_unfinished_run_gets_a_report_that_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = sample_import(&runs);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // Make it look killed mid-run: no summary, no ledger, the seal line torn off.
    let run = last_run(&runs);
    std::fs::remove_file(run.join("summary.json")).unwrap();
    std::fs::remove_file(run.join("ledger.parquet")).unwrap();
    let audit = std::fs::read_to_string(run.join("audit.jsonl")).unwrap();
    let lines: Vec<&str> = audit.lines().collect();
    let kept = lines[..lines.len() - 1].join("\n") + "\n{\"seq\":";
    std::fs::write(run.join("audit.jsonl"), kept).unwrap();

    let page = report(&runs, &["latest"]);
    let html = std::fs::read_to_string(page).unwrap();
    assert!(
        html.contains("data-state=\"crashed\""),
        "the state is shown"
    );
    assert!(html.contains("did not finish"), "and said in words");
    assert!(html.contains("no ledger.parquet"));
    // The decisions it logged are still counted.
    let outcomes = marked(&html, "outcome");
    assert_eq!(outcomes.values().sum::<u64>(), 200, "{outcomes:?}");
    assert!(html.contains("not sealed"));
}

#[test]
fn issue_18_out_writes_elsewhere_and_open_without_a_browser_notes_it_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let out = Command::new(env!("CARGO_BIN_EXE_scimport"))
        .current_dir(common::root())
        .args(["import", "fixtures/hr_export.csv", "--mapping"])
        .arg(fixture("mapping.toml"))
        .arg("--runs-dir")
        .arg(&runs)
        .arg("--quiet")
        .output()
        .expect("run scimport import");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    // --out writes elsewhere, and the run directory keeps no report.
    let elsewhere = tmp.path().join("night.html");
    let printed = report(&runs, &["latest", "--out", elsewhere.to_str().unwrap()]);
    assert_eq!(printed, elsewhere);
    assert!(!last_run(&runs).join("report.html").exists());
    let out = Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args(["report", "latest", "--open", "--runs-dir"])
        .arg(&runs)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("PATH", tmp.path())
        .output()
        .expect("run scimport report");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note:") && stderr.contains("in a browser"),
        "{}",
        show(&out)
    );
    assert!(last_run(&runs).join("report.html").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_sync_report_shows_the_guard_that_held_the_leavers() {
    use crate::sync::{Bench, csv, people};
    let b = Bench::new().await;
    let staff = people(40);
    b.source(&csv(&staff));
    assert_eq!(b.sync(&[]).code(), Some(0));
    // 12 leave: more than the guard allows, so their deactivations are held.
    b.source(&csv(&staff[..28]));
    let r = b.sync(&["--max-shrink", "50"]);
    assert_eq!(r.code(), Some(4), "{}", r.text());
    let summary = r.summary();
    let id = r
        .run
        .as_ref()
        .expect("a run")
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();

    let page = tokio::task::block_in_place(|| report(&b.runs(), &[&id]));
    let html = std::fs::read_to_string(page).unwrap();
    assert_self_contained(&html, &[&b.emu.url()]);
    assert!(html.contains("<section id=\"sync\">"), "a sync section");
    assert_eq!(marked(&html, "outcome"), counts(&summary["outcomes"]));
    assert!(html.contains("id=\"sync-leavers\">12<"), "the leavers");
    let held = regex::Regex::new(r#"id="sync-held">([^<]*)<"#)
        .unwrap()
        .captures(&html)
        .expect("the guard's row")[1]
        .to_string();
    assert!(held.starts_with("yes: "), "{held}");
    assert!(held.contains("(12 row(s))"), "{held}");
    assert_eq!(marked(&html, "error-kind").get("guard_held"), Some(&12));
    assert!(
        !html.contains("id=\"retry-command\""),
        "a sync retries by running again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_18_the_429s_of_an_unpaced_run_are_counted_and_marked() {
    // The emulator's bucket holds 120 calls and refills 2/s: an unpaced import of
    // 125 new users (about 135 calls) overruns it and gets 429s.
    let emu = spawn(EmulatorConfig {
        rate_limit_per_minute: Some(120),
        ..EmulatorConfig::for_tests()
    })
    .await
    .expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(125));
    let out = crate::import::import(
        &emu,
        &runs,
        &[
            csv.to_str().unwrap(),
            "--mapping",
            fixture("mapping.toml").to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let summary = read_json(&last_run(&runs).join("summary.json"));
    let throttled = summary["calls"]["status_429"].as_u64().unwrap();
    assert!(throttled >= 1, "the run got no 429: {summary}");

    let page = tokio::task::block_in_place(|| report(&runs, &["latest"]));
    let html = std::fs::read_to_string(page).unwrap();
    assert!(
        html.contains(&format!("data-throttled=\"{throttled}\"")),
        "the page counts {throttled} 429s"
    );
    assert!(html.contains("429 answered"), "the chart marks them");
    // Every pause the limiter made is an audit note the chart can place in time.
    let pauses = summary["calls"]["pauses"].as_u64().unwrap();
    assert!(pauses >= 1, "{summary}");
    let audit = std::fs::read_to_string(last_run(&runs).join("audit.jsonl")).unwrap();
    let noted = audit
        .lines()
        .filter(|l| l.contains("\"kind\":\"note\"") && l.contains("\"detail\":\"paused "))
        .count() as u64;
    assert_eq!(noted, pauses, "one audit note per pause");
    assert!(
        regex::Regex::new(r">\s*pause\s*</text>")
            .unwrap()
            .is_match(&html),
        "the pace chart marks the pauses (its legend names them)"
    );
}
