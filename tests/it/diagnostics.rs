//! What reaches stderr besides results (issue 13): warnings always, info lines with
//! `-v`, debug lines with `-vv`, `RUST_LOG` over both, and never a secret. Also what
//! a production binary must not carry (the benchmark-only switch).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use scimport::emulator::{EmulatorConfig, spawn};

use crate::common::{self, fixture, hr_rows, write_csv};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `scimport validate` on the fixture (which holds duplicates, so the duplicate
/// pass logs at debug level), with `flags` and `RUST_LOG` as given.
fn validate(flags: &[&str], rust_log: Option<&str>) -> String {
    let mut cmd = common::scimport("unused", "unused");
    cmd.args(flags)
        .arg("validate")
        .arg(fixture("hr_export.csv"))
        .arg("--mapping")
        .arg(fixture("mapping.toml"));
    if let Some(v) = rust_log {
        cmd.env("RUST_LOG", v);
    }
    let out = cmd.output().expect("run scimport");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn debug_lines_need_vv_and_rust_log_replaces_the_flag() {
    const DEBUG: &str = "duplicate pass done";
    let plain = validate(&[], None);
    assert!(!plain.contains(DEBUG), "{plain}");
    assert!(
        !plain.contains("DEBUG") && !plain.contains("INFO"),
        "{plain}"
    );
    let v = validate(&["-v"], None);
    assert!(!v.contains(DEBUG), "{v}");
    let vv = validate(&["-vv"], None);
    assert!(vv.contains(DEBUG), "{vv}");
    assert!(vv.contains("DEBUG"), "{vv}");
    // RUST_LOG wins, both ways.
    assert!(validate(&[], Some("scimport=debug")).contains(DEBUG));
    assert!(!validate(&["-vv"], Some("error")).contains(DEBUG));
}

#[test]
fn an_unparsable_rust_log_is_refused_with_a_warning() {
    let err = validate(&["-vv"], Some("scimport=[{"));
    assert!(err.contains("WARN"), "{err}");
    assert!(err.contains("RUST_LOG ignored"), "{err}");
    // The flags decide instead.
    assert!(err.contains("duplicate pass done"), "{err}");
}

/// `scimport import` against `url`, with `extra` flags and `RUST_LOG` as given.
fn import(
    url: &str,
    id: &str,
    secret: &str,
    runs: &Path,
    csv: &Path,
    extra: &[&str],
    rust_log: Option<&str>,
) -> Command {
    let mut cmd = common::scimport(id, secret);
    cmd.arg("import")
        .arg(csv)
        .args(["--mapping", "fixtures/mapping.toml", "--rate", "off"])
        .args(["--api-url", url, "--login-url", url, "--runs-dir"])
        .arg(runs)
        .args(extra);
    if let Some(v) = rust_log {
        cmd.env("RUST_LOG", v);
    }
    cmd
}

async fn output(mut cmd: Command) -> Output {
    // In a blocking thread, so the in-process emulator keeps serving.
    tokio::task::spawn_blocking(move || cmd.output().expect("run scimport"))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_lines_need_v() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(5));
    let (url, id, secret) = (emu.url(), emu.client_id(), emu.client_secret());
    let run = |extra: &'static [&'static str]| import(&url, id, secret, &runs, &csv, extra, None);
    let plain = output(run(&["--dry-run"])).await;
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(
        !stderr(&plain).contains("run files closed"),
        "{}",
        stderr(&plain)
    );
    let v = output(run(&["--dry-run", "-v"])).await;
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    let err = stderr(&v);
    assert!(
        err.contains("INFO") && err.contains("run files closed"),
        "{err}"
    );
    assert!(err.contains("rows=5"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_stderr_even_at_trace_level() {
    let emu = spawn(EmulatorConfig::for_tests()).await.expect("emulator");
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("runs");
    let csv = write_csv(tmp.path(), "hr.csv", &hr_rows(5));
    let (url, id, secret) = (emu.url(), emu.client_id(), emu.client_secret());
    // A real run (token fetch, POSTs with a bearer token) with everything on.
    let cmd = import(&url, id, secret, &runs, &csv, &["-vv"], Some("trace"));
    let out = output(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("TRACE"), "trace output expected: {err}");
    assert!(!err.contains(secret), "the client secret reached stderr");
    let lower = err.to_lowercase();
    assert!(!lower.contains("bearer"), "a bearer token reached stderr");
    assert!(!lower.contains("access_token"), "a token reached stderr");
    assert!(!lower.contains("authorization:"), "a header reached stderr");
}

/// Whether process `pid` catches signal `sig` (Linux: the SigCgt mask in /proc).
#[cfg(target_os = "linux")]
fn catches(pid: u32, sig: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (sig - 1)) != 0)
}

/// A real warning path: the emulator cannot save `--state` when it stops. Before
/// issue 13 no subscriber was installed and this error went nowhere.
#[cfg(target_os = "linux")]
#[test]
fn an_error_at_shutdown_reaches_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("no-such-dir").join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--state"])
        .arg(&state)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read stdout");
    assert!(line.starts_with("listening on"), "{line}");
    // Stop it the way a user does, once it handles SIGTERM (before, the signal's
    // default action would kill it without a word).
    let pid = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !catches(pid, libc::SIGTERM) {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGTERM never handled"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: kill takes plain integers; `pid` is our own child, not yet reaped.
    assert_eq!(
        unsafe { libc::kill(i32::try_from(pid).unwrap(), libc::SIGTERM) },
        0
    );
    let out = child.wait_with_output().expect("wait");
    let err = stderr(&out);
    assert!(err.contains("ERROR"), "{err}");
    assert!(err.contains("emulator state not saved"), "{err}");
    assert!(err.contains(&state.display().to_string()), "{err}");
}

/// Production builds (no `bench-discard-sink` feature) carry no benchmark switch; a
/// build with the feature does (so the check can see it).
#[test]
fn the_benchmark_switch_is_only_in_benchmark_builds() {
    let bin = std::fs::read(env!("CARGO_BIN_EXE_scimport")).expect("read the binary");
    let found = memchr::memmem::find(&bin, b"SCIMPORT_BENCH_DISCARD_SINK").is_some();
    assert_eq!(found, cfg!(feature = "bench-discard-sink"));
}
