//! Issue 15: the quickstart (the README's import of fixtures/hr_export.csv with
//! fixtures/mapping.toml) run twice against one persisted strict emulator sends no
//! write the second time: the fixture mapping maps nothing a Genesys user lacks, so
//! nothing is re-sent for ever.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use crate::common::{self, last_run, read_json};

const ID: &str = "quickstart";
const SECRET: &str = "quickstart-secret";

/// A running `scimport emulator`, its URL, and what it printed before it served.
struct Emulator {
    child: Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    url: String,
    said: Vec<String>,
}

/// `scimport emulator --state FILE` (strict defaults).
fn start_emulator(state: &Path) -> Emulator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scimport"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--client-id", ID])
        .args(["--client-secret", SECRET, "--rate-limit", "off", "--state"])
        .arg(state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the emulator");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut said = Vec::new();
    let url = loop {
        let mut line = String::new();
        let n = stdout.read_line(&mut line).expect("a line");
        assert!(n > 0, "the emulator ended before listening: {said:?}");
        if let Some(url) = line.trim().strip_prefix("listening on ") {
            break url.to_string();
        }
        said.push(line.trim().to_string());
    };
    // With --state, the next line says what became of it.
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the state line");
    said.push(line.trim().to_string());
    Emulator {
        child,
        stdout,
        url,
        said,
    }
}

/// SIGTERM: the emulator drains and saves `--state`; returns what it said then.
fn stop_emulator(mut emu: Emulator) -> String {
    let kill = Command::new("kill")
        .args(["-TERM", &emu.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut emu.stdout, &mut rest).expect("stdout");
    let status = emu.child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    rest
}

/// The README's import command against `url`.
fn quickstart(url: &str, runs: &Path) -> Output {
    common::scimport(ID, SECRET)
        .args(["import", "fixtures/hr_export.csv", "--mapping"])
        .arg("fixtures/mapping.toml")
        .args(["--api-url", url, "--login-url", url, "--rate", "off"])
        .arg("--runs-dir")
        .arg(runs)
        .arg("--quiet")
        .output()
        .expect("run scimport import")
}

fn calls(summary: &Value, key: &str) -> u64 {
    summary["calls"][key]
        .as_u64()
        .unwrap_or_else(|| panic!("calls.{key} missing in {summary}"))
}

#[test]
fn issue_15_quickstart_twice_against_a_persisted_strict_emulator_sends_no_write() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let state = tmp.path().join("tenant.json");
    let runs = tmp.path().join("runs");

    let emu = start_emulator(&state);
    // Issue 19 item 17: the emulator says what it does with --state.
    assert!(
        emu.said.iter().any(|l| l.contains("does not exist yet")),
        "{:?}",
        emu.said
    );
    let first = quickstart(&emu.url, &runs);
    let said = stop_emulator(emu);
    assert!(said.contains("state: saved "), "{said}");
    // 1: some sample rows are invalid on purpose.
    assert!(
        matches!(first.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let s1 = read_json(&last_run(&runs).join("summary.json"));
    assert!(calls(&s1, "post") > 100, "the first run creates: {s1}");
    assert_eq!(
        calls(&s1, "failed"),
        0,
        "the strict emulator refused calls: {s1}"
    );
    assert!(state.exists(), "the emulator saved no state");

    let emu = start_emulator(&state);
    let saved: usize = said
        .split("state: saved ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a count of users saved");
    assert!(saved > 100, "{said}");
    assert!(
        emu.said
            .iter()
            .any(|l| l.starts_with(&format!("state: loaded {saved} users from "))),
        "{:?}",
        emu.said
    );
    let second = quickstart(&emu.url, &runs);
    stop_emulator(emu);
    assert!(
        matches!(second.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let s2 = read_json(&last_run(&runs).join("summary.json"));
    assert_ne!(
        s1["run_id"], s2["run_id"],
        "the second run wrote no summary"
    );
    assert_eq!(calls(&s2, "writes"), 0, "a re-run must send no write: {s2}");
    assert_eq!(calls(&s2, "patch"), 0, "{s2}");
    assert_eq!(calls(&s2, "post"), 0, "{s2}");
}
