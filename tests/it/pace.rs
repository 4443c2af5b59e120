//! End-to-end pacing of `scimport import` (issue 13): the real binary against a
//! rate-limited emulator started in process on port 0, given as a real target
//! (`--api-url`). Without `--rate` the pace follows the tenant's
//! `inin-ratelimit-allowed` up (to just below it) with no 429; an explicit
//! `--rate` is never exceeded. Slow by nature: the calls are paced in real time.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use scimport::emulator::{EmulatorConfig, EmulatorHandle, spawn};
use serde_json::Value;

use crate::common::{self, hr_rows, last_run, read_json, write_csv};

/// Runs the CLI against `emu` as a real target with exactly `args` (no `--rate`
/// added), returning its output and wall time.
async fn import(emu: &EmulatorHandle, runs: &Path, args: &[&str]) -> (Output, Duration) {
    let url = emu.url();
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.arg("import")
        .args(args)
        .args(["--mapping", "fixtures/mapping.toml"])
        .args(["--api-url", &url, "--login-url", &url, "--runs-dir"])
        .arg(runs)
        .arg("--quiet");
    // A blocking thread, so the emulator keeps serving.
    tokio::task::spawn_blocking(move || {
        let t0 = Instant::now();
        let out = cmd.output().expect("run scimport");
        (out, t0.elapsed())
    })
    .await
    .expect("join")
}

fn num(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_f64()
        .unwrap_or_else(|| panic!("{path} missing in {v}"))
}

fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn emulator_at(per_minute: u32) -> EmulatorHandle {
    spawn(EmulatorConfig {
        rate_limit_per_minute: Some(per_minute),
        ..EmulatorConfig::for_tests()
    })
    .await
    .expect("emulator")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_without_rate_the_pace_rises_to_the_tenants_limit_with_no_429() {
    let emu = emulator_at(600).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(1000));
    let (out, wall) = import(&emu, &runs, &[csv.to_str().expect("utf-8 path")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(num(&s, "done.created"), 1000.0, "{s}");
    let calls = num(&s, "calls.total");
    // The floor: every call the run made, back to back at the tenant's 600/min.
    let floor = Duration::from_secs_f64(calls / 600.0 * 60.0);
    eprintln!(
        "{calls} calls in {:.1} s (floor {:.1} s, ratio {:.3}), pace {}",
        wall.as_secs_f64(),
        floor.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64(),
        s["calls"]["current_rate"]
    );
    assert_eq!(num(&s, "calls.status_429"), 0.0, "{s}");
    let served_429 = emu.stats().status.get("429").copied().unwrap_or(0);
    assert_eq!(served_429, 0, "the emulator refused calls");
    assert!(
        wall <= floor.mul_f64(1.1),
        "{calls} calls took {wall:?}, over 1.1 × the 600/min floor {floor:?}: {s}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_an_explicit_rate_is_never_exceeded_though_the_tenant_allows_more() {
    let emu = emulator_at(600).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(120));
    let (out, wall) = import(
        &emu,
        &runs,
        &[csv.to_str().expect("utf-8 path"), "--rate", "300"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let s = read_json(&last_run(&runs).join("summary.json"));
    assert_eq!(num(&s, "done.created"), 120.0, "{s}");
    assert_eq!(num(&s, "calls.current_rate"), 300.0, "{s}");
    let calls = num(&s, "calls.total");
    // The run's own clock (it starts before the first call, so it is the
    // stricter measure here); n evenly spaced calls span n - 1 intervals.
    let seconds = num(&s, "seconds");
    let floor = (calls - 1.0) / 300.0 * 60.0;
    let per_minute = calls / seconds * 60.0;
    eprintln!(
        "{calls} calls in {seconds:.1} s (process {:.1} s): {per_minute:.1}/min",
        wall.as_secs_f64()
    );
    assert!(
        seconds >= floor,
        "{calls} calls in {seconds} s, under the 300/min floor {floor} s"
    );
    assert!(per_minute <= 303.0, "{per_minute}/min over --rate 300: {s}");
    assert_eq!(num(&s, "calls.status_429"), 0.0, "{s}");
    emu.shutdown().await;
}
