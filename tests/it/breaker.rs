//! The tenant breaker and the prompt stop (issue 14, item 5), with the real
//! binary against a proxy in front of the real emulator that misbehaves on user
//! creates: a tenant that hangs, answers 503 or drops the connection stops the
//! run (exit 3, rows pending, the reason in summary.json) in seconds, and a
//! `--resume` straight to the emulator finishes it with no user created twice; a
//! blip does not trip it; Ctrl-C stops within the timeout, a second one at once.

mod proxy;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use scimport::emulator::{EmulatorConfig, EmulatorHandle, UserState, spawn};
use scimport::ledger::{Outcome, read_ledger};

use crate::common::{self, hr_rows, last_run, read_json, write_csv};
use proxy::{Fault, Proxy};

const ROWS: usize = 200;

/// `scimport import` against `url` (unpaced), quiet, into `runs`.
fn import(url: &str, runs: &Path, args: &[&str]) -> Command {
    let mut cmd = common::scimport("test-client", "test-secret");
    cmd.arg("import")
        .args(args)
        .args(["--api-url", url, "--rate", "off", "--quiet"])
        .arg("--runs-dir")
        .arg(runs);
    cmd
}

/// A fresh import of `csv` with `extra` flags.
fn fresh(url: &str, runs: &Path, csv: &Path, extra: &[&str]) -> Command {
    let mapping = common::fixture("mapping.toml");
    let mut args = vec![
        csv.to_str().expect("utf-8 path"),
        "--mapping",
        mapping.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    import(url, runs, &args)
}

/// Runs `cmd` to its end off the async workers; returns its output and duration.
async fn output(mut cmd: Command) -> (Output, Duration) {
    tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        let out = cmd.output().expect("run scimport");
        (out, t0.elapsed())
    })
    .await
    .expect("join")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn id_of(dir: &Path) -> String {
    dir.file_name()
        .expect("run id")
        .to_string_lossy()
        .into_owned()
}

/// Rows of the run's ledger with `outcome`, and the ledger's length.
fn count(dir: &Path, outcome: Outcome) -> (usize, usize) {
    let ledger = read_ledger(&dir.join("ledger.parquet")).expect("ledger");
    let n = ledger.iter().filter(|r| r.outcome == outcome).count();
    (n, ledger.len())
}

/// The ledger's rows by outcome and error kind, for failure messages.
fn outcomes(dir: &Path) -> String {
    let ledger = read_ledger(&dir.join("ledger.parquet")).expect("ledger");
    let mut by: std::collections::BTreeMap<String, usize> = Default::default();
    for r in &ledger {
        *by.entry(format!("{:?}/{:?}", r.outcome, r.error_kind))
            .or_default() += 1;
    }
    format!("{by:?}")
}

fn outcomes_with_actions(dir: &Path) -> String {
    let ledger = read_ledger(&dir.join("ledger.parquet")).expect("ledger");
    ledger
        .iter()
        .filter(|r| r.outcome != Outcome::Succeeded)
        .map(|r| {
            format!(
                "row {} {:?} {:?} {:?} {:?}\n",
                r.row, r.action, r.outcome, r.changed_fields, r.error
            )
        })
        .collect()
}

/// Active users in the tenant, asserting no userName was created twice.
fn users_once(emu: &EmulatorHandle) -> usize {
    let mut names: Vec<String> = emu
        .users()
        .into_iter()
        .filter(|u| u.state != UserState::Deleted)
        .filter_map(|u| u.user.user_name)
        .map(|n| n.to_lowercase())
        .collect();
    let n = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n, "a user was created twice");
    n
}

/// `--resume` straight to the emulator finishes the run: exit 0, every row
/// succeeded, every user once.
async fn resume_finishes(emu: &EmulatorHandle, proxy: &Proxy, runs: &Path, dir: &Path) {
    proxy.heal();
    let id = id_of(dir);
    let (out, _) = output(import(proxy.url(), runs, &["--resume", &id])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "resume: {}{}{}",
        text(&out.stdout),
        text(&out.stderr),
        outcomes(dir)
    );
    assert_eq!(
        count(dir, Outcome::Succeeded),
        (ROWS, ROWS),
        "{}",
        outcomes_with_actions(dir)
    );
    assert_eq!(users_once(emu), ROWS);
}

/// 200 rows against a proxy with `fault` and `--timeout 2`: exit 3 in under 60 s,
/// at least 90 % pending, summary.json and the printed summary say what tripped
/// the breaker and how to resume; then the resume finishes with no duplicate.
/// `cause` is what the stop message must name; `landed`: creates reached the
/// tenant unanswered, which the resume must adopt, not repeat.
async fn trips_then_resumes(fault: Fault, cause: &str, landed: bool) {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let proxy = Proxy::start(&emu.url(), fault).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(ROWS));
    let (out, took) = output(fresh(proxy.url(), &runs, &csv, &["--timeout", "2"])).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{}", text(&out.stderr));
    assert!(took < Duration::from_secs(60), "took {took:?}");
    let dir = last_run(&runs);
    let (pending, rows) = count(&dir, Outcome::Pending);
    assert_eq!(rows, ROWS);
    assert!(
        pending * 10 >= ROWS * 9,
        "{pending} of {ROWS} pending: {}",
        outcomes(&dir)
    );
    let stopped = read_json(&dir.join("summary.json"))["stopped"]
        .as_str()
        .expect("summary.json says why it stopped")
        .to_string();
    assert!(stopped.starts_with("the tenant failed "), "{stopped}");
    assert!(stopped.contains(cause), "{stopped}");
    assert!(stdout.contains(&format!("stopped: {stopped}")), "{stdout}");
    // Issue 19: the printed resume keeps the target.
    let resume = format!(
        "resume with: scimport import --resume {} --api-url ",
        id_of(&dir)
    );
    assert!(stdout.contains(&resume), "{stdout}");
    assert!(stdout.contains(" --runs-dir "), "{stdout}");
    eprintln!(
        "{fault:?}: stopped in {took:?}, {pending} pending ({}): {stopped}",
        outcomes(&dir)
    );
    if landed {
        let (succeeded, _) = count(&dir, Outcome::Succeeded);
        assert!(
            users_once(&emu) > succeeded,
            "some creates landed while their rows ended pending"
        );
    }
    resume_finishes(&emu, &proxy, &runs, &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_tenant_hanging_on_post_trips_the_breaker_and_resume_finishes() {
    trips_then_resumes(Fault::Hang, "timeouts", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_tenant_answering_503_trips_the_breaker_and_resume_finishes() {
    trips_then_resumes(Fault::Unavailable, "5xx", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_dropped_connections_trip_the_breaker_and_resume_finishes() {
    trips_then_resumes(Fault::Drop, "dropped connections", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_creates_that_landed_unanswered_are_adopted_by_the_resume() {
    // The writes drop and the adoption look-ups 503: either may trip first.
    trips_then_resumes(Fault::LandThenDrop, "", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_blip_of_503s_does_not_trip_the_breaker() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let proxy = Proxy::start(&emu.url(), Fault::UnavailableFirst(3)).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(ROWS));
    let (out, _) = output(fresh(proxy.url(), &runs, &csv, &["--timeout", "2"])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(count(&last_run(&runs), Outcome::Succeeded), (ROWS, ROWS));
    assert_eq!(proxy.creates(), ROWS + 3, "the three 503s were retried");
    assert_eq!(users_once(&emu), ROWS);
}

/// An import against a proxy that hangs on creates, its stderr read line by line
/// into a channel.
struct Hanging {
    child: Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    runs: PathBuf,
    /// Where its stdout goes.
    stdout: PathBuf,
}

fn start_hanging(proxy: &Proxy, tmp: &Path, timeout: &str) -> Hanging {
    let runs = tmp.join("runs");
    let csv = write_csv(tmp, "hr.csv", &hr_rows(ROWS));
    let mut cmd = fresh(proxy.url(), &runs, &csv, &["--timeout", timeout]);
    let stdout = tmp.join("stdout.txt");
    let mut child = cmd
        .stdout(Stdio::from(
            std::fs::File::create(&stdout).expect("stdout file"),
        ))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scimport");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Hanging {
        child,
        lines,
        runs,
        stdout,
    }
}

fn sigint(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) with a valid pid of our own child and a valid signal.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0, "kill -INT");
}

/// Waits for the child to exit, at most `bound`; returns its code and how long.
async fn exits_within(child: Child, bound: Duration) -> (Option<i32>, Duration) {
    let t0 = Instant::now();
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    let mut child = child;
    let waited = tokio::time::timeout(
        bound,
        tokio::task::spawn_blocking(move || child.wait().expect("wait")),
    )
    .await;
    let Ok(status) = waited else {
        // SAFETY: kill(2) of our own child, which has not been reaped (still running).
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!("scimport did not exit within {bound:?}");
    };
    let status = status.expect("join");
    (status.code(), t0.elapsed())
}

/// Waits (bounded) for a stderr line containing `needle`.
async fn line_with(
    lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    needle: &str,
) -> String {
    let find = async {
        while let Some(l) = lines.recv().await {
            if l.contains(needle) {
                return l;
            }
        }
        panic!("stderr ended without {needle:?}");
    };
    tokio::time::timeout(Duration::from_secs(60), find)
        .await
        .unwrap_or_else(|_| panic!("no stderr line with {needle:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_ctrl_c_stops_within_the_timeout_with_rows_pending() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let proxy = Proxy::start(&emu.url(), Fault::Hang).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut run = start_hanging(&proxy, tmp.path(), "5");
    tokio::time::timeout(Duration::from_secs(60), proxy.wait_hung(1))
        .await
        .expect("a create reached the proxy");
    sigint(&run.child);
    let notice = line_with(&mut run.lines, "stopping:").await;
    assert!(notice.contains("Ctrl-C again"), "{notice}");
    let (code, took) = exits_within(run.child, Duration::from_secs(5 + 20)).await;
    eprintln!("Ctrl-C to exit with --timeout 5: {took:?}");
    assert_eq!(code, Some(3));
    let dir = last_run(&run.runs);
    let (pending, rows) = count(&dir, Outcome::Pending);
    assert_eq!((pending, rows), (ROWS, ROWS), "every row pending");
    let summary = read_json(&dir.join("summary.json"));
    assert_eq!(summary["stopped"], "interrupted");
    // Issue 19 item 14: an interrupted run does not say it finished.
    let printed = std::fs::read_to_string(&run.stdout).expect("stdout");
    assert!(printed.contains(" stopped after "), "{printed}");
    assert!(!printed.contains("finished in"), "{printed}");
    resume_finishes(&emu, &proxy, &run.runs, &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_14_a_second_ctrl_c_quits_at_once_and_the_run_stays_resumable() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let proxy = Proxy::start(&emu.url(), Fault::Hang).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    // With --timeout 30 the first Ctrl-C alone would wait up to 30 s.
    let mut run = start_hanging(&proxy, tmp.path(), "30");
    tokio::time::timeout(Duration::from_secs(60), proxy.wait_hung(1))
        .await
        .expect("a create reached the proxy");
    sigint(&run.child);
    line_with(&mut run.lines, "stopping:").await;
    sigint(&run.child);
    let (code, took) = exits_within(run.child, Duration::from_secs(60)).await;
    assert_eq!(code, Some(130));
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let dir = last_run(&run.runs);
    assert!(
        !dir.join("summary.json").exists(),
        "quit at once: no summary"
    );
    resume_finishes(&emu, &proxy, &run.runs, &dir).await;
}
