//! Standard Webhooks (issue 17): the real binary imports into the in-process
//! emulator and posts events to a receiver started by the test
//! (`webhooks/receiver.py`), which verifies each delivery with the independent
//! `standardwebhooks` package from PyPI and deduplicates by id. Covers: one
//! verified event per outcome with the right type, batches, a delivery that
//! finally fails (ledger, audit, summary; the row unaffected), a receiver down for
//! a while, a killed run resumed, deliveries left pending at the drain timeout, a
//! sync's joiners and leavers, refusal without a secret, and rejections (wrong
//! secret, stale timestamp, replay, tampered body) by the library and by
//! `scimport webhook verify`.

mod events;
mod resilience;
mod security;
mod sync;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use scimport::emulator::EmulatorHandle;
use serde_json::Value;

use crate::common::{self, show};

pub(super) const SECRET: &str = "whsec_c2NpbXBvcnQtd2ViaG9vay10ZXN0LXNlY3JldC0xMjM=";
pub(super) const OTHER_SECRET: &str = "whsec_YW5vdGhlci13ZWJob29rLXNlY3JldC00NTY=";

/// The test receiver, a child process; killed on drop.
pub(super) struct Receiver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Receiver {
    pub(super) fn start(dir: &Path, extra: &[&str]) -> Receiver {
        let script = common::root().join("tests/it/webhooks/receiver.py");
        let port_file = dir.join("receiver.port");
        let log = dir.join("receiver.jsonl");
        let mut child = Command::new(common::python())
            .arg(&script)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .args(extra)
            .env("RECEIVER_SECRET", SECRET)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): set SCIMPORT_PYTHON to a Python with standardwebhooks==1.3.0 (scripts/test installs it)",
                    common::python()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                let port = p.trim().parse().expect("a port");
                return Receiver { child, port, log };
            }
            if let Some(status) = child.try_wait().expect("try_wait") {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                panic!(
                    "the webhook receiver exited ({status}); is standardwebhooks installed in {}?\n{err}",
                    common::python()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the webhook receiver did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Every request logged so far.
    pub(super) fn entries(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub(super) fn with_verdict(&self, verdict: &str) -> Vec<Value> {
        self.entries()
            .into_iter()
            .filter(|e| e["verdict"] == verdict)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `scimport import` against the emulator, with SCIMPORT_WEBHOOK_SECRET set to
/// `secret` (or unset) and fast retries.
pub(super) fn import_cmd(
    emu: &EmulatorHandle,
    runs: &Path,
    secret: Option<&str>,
    args: &[&str],
) -> Command {
    let url = emu.url();
    let mut cmd = common::scimport(emu.client_id(), emu.client_secret());
    cmd.arg("import")
        .args(args)
        .args(["--api-url", &url, "--rate", "off", "--runs-dir"])
        .arg(runs)
        .arg("--quiet")
        .env_remove("SCIMPORT_WEBHOOK_SECRET");
    if let Some(s) = secret {
        cmd.env("SCIMPORT_WEBHOOK_SECRET", s);
    }
    cmd
}

pub(super) async fn import(
    emu: &EmulatorHandle,
    runs: &Path,
    secret: Option<&str>,
    args: &[&str],
) -> Output {
    let mut cmd = import_cmd(emu, runs, secret, args);
    tokio::task::spawn_blocking(move || cmd.output().expect("run scimport"))
        .await
        .expect("join")
}

pub(super) fn run_dirs(runs: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(runs)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Journal lines of type `t`.
pub(super) fn journal(dir: &Path, t: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["t"] == t)
        .collect()
}

/// The ledger's `webhook` column by row, read by pyarrow.
pub(super) fn ledger_webhooks(dir: &Path) -> BTreeMap<u64, Option<String>> {
    let out = Command::new(common::python())
        .args([
            "-c",
            "import json,sys,pyarrow.parquet as pq; t=pq.read_table(sys.argv[1]); print(json.dumps(list(zip(t.column('row').to_pylist(), t.column('webhook').to_pylist()))))",
        ])
        .arg(dir.join("ledger.parquet"))
        .output()
        .expect("python with pyarrow (SCIMPORT_PYTHON)");
    assert!(out.status.success(), "{}", show(&out));
    let pairs: Vec<(u64, Option<String>)> = serde_json::from_slice(&out.stdout).expect("json");
    pairs.into_iter().collect()
}

pub(super) fn body(e: &Value) -> Value {
    serde_json::from_str(e["body"].as_str().expect("a body")).expect("a JSON body")
}

/// Accepted events' types by row.
pub(super) fn types_by_row(entries: &[Value]) -> BTreeMap<u64, String> {
    entries
        .iter()
        .map(body)
        .map(|b| {
            (
                b["data"]["row"].as_u64().expect("row"),
                b["type"].as_str().expect("type").to_string(),
            )
        })
        .collect()
}

/// Waits (bounded) until `cond` holds; panics with `what` otherwise.
pub(super) fn wait_for(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub(super) fn ids(entries: &[Value]) -> BTreeSet<String> {
    entries
        .iter()
        .filter_map(|e| e["id"].as_str().map(String::from))
        .collect()
}
