//! The runs under a runs directory, newest first, each with what a person needs
//! to pick one (`scimport runs`): its id, when it started, the command, the
//! target, its counts and whether it finished, stopped, crashed or is running.
//! Also what `latest` means wherever a run id is taken.
//!
//! Reads only: the journal's first line (the run's meta), summary.json, the audit
//! log's last line (a sealed log ends with a `seal`) and the run's lock (held
//! while a process works on it). Never writes, never takes the lock.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::run_dir::{AUDIT_FILE, JOURNAL_FILE, RunDir, run_dirs};
use super::run_lock::{LockError, RunLock};
use super::summary::RunSummary;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// It ended and wrote its summary.
    Finished,
    /// It was stopped (Ctrl-C, a breaker, an unreadable input) and can be resumed.
    Stopped,
    /// It ended without sealing its audit log (killed, crashed, power lost): its
    /// ledger, if any, is stale; `--resume` finishes it.
    Crashed,
    /// A process holds it now.
    Running,
}

impl RunState {
    /// The word `scimport runs` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Finished => "finished",
            RunState::Stopped => "stopped",
            RunState::Crashed => "crashed",
            RunState::Running => "running",
        }
    }
}

/// One run, as `scimport runs` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// The run id.
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// When it started (the journal's meta), RFC 3339.
    pub started: Option<String>,
    /// `import` or `sync`, as it was run.
    pub command: Option<String>,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// The API URL, or `embedded-emulator`.
    pub target: Option<String>,
    /// The command line, redacted (as the journal holds it).
    pub args: Vec<String>,
    /// Rows in its ledger (from summary.json).
    pub rows: Option<u64>,
    /// Rows per outcome, the non-zero ones (from summary.json).
    pub outcomes: BTreeMap<String, u64>,
    /// Where it is.
    pub state: RunState,
}

/// What the journal's meta line holds that a listing shows.
#[derive(serde::Deserialize, Default)]
struct Meta {
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    args: Vec<String>,
}

fn meta(dir: &Path) -> Option<Meta> {
    let file = File::open(dir.join(JOURNAL_FILE)).ok()?;
    let mut line = String::new();
    // A meta line is small; a damaged journal must not make a listing read it all.
    BufReader::new(file.take(1 << 20))
        .read_line(&mut line)
        .ok()?;
    serde_json::from_str(&line).ok()
}

/// Whether the audit log's last line is a seal.
fn sealed(dir: &Path) -> bool {
    let Ok(mut file) = File::open(dir.join(AUDIT_FILE)) else {
        return false;
    };
    let Ok(len) = file.seek(SeekFrom::End(0)) else {
        return false;
    };
    let from = len.saturating_sub(4096);
    let mut tail = String::new();
    if file.seek(SeekFrom::Start(from)).is_err() || file.read_to_string(&mut tail).is_err() {
        return false;
    }
    tail.trim_end()
        .rsplit('\n')
        .next()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .is_some_and(|v| v["kind"] == "seal")
}

/// What is known about the run in `dir`.
pub fn describe(dir: &RunDir) -> RunInfo {
    let meta = meta(&dir.root).unwrap_or_default();
    let summary = RunSummary::read(&dir.summary_path()).ok();
    let running = matches!(RunLock::acquire_shared(dir), Err(LockError::Held { .. }));
    // A directory with neither journal nor audit log (a ledger copied elsewhere)
    // has nothing to say about how its run ended.
    let ours = dir.journal_path().exists() || dir.audit_path().exists();
    let state = if running {
        RunState::Running
    } else if ours && !sealed(&dir.root) {
        RunState::Crashed
    } else if summary
        .as_ref()
        .is_some_and(|s| s.details.get("stopped").is_some_and(|v| !v.is_null()))
    {
        RunState::Stopped
    } else if summary.is_some() {
        RunState::Finished
    } else {
        RunState::Crashed
    };
    let command = meta
        .args
        .iter()
        .skip(1)
        .find(|a| matches!(a.as_str(), "import" | "sync"))
        .cloned();
    RunInfo {
        id: dir.id.clone(),
        dir: dir.root.clone(),
        started: meta.created_at,
        command,
        dry_run: meta.dry_run,
        target: meta.target,
        args: meta.args,
        rows: summary.as_ref().map(|s| s.rows),
        outcomes: summary
            .map(|s| s.outcomes.into_iter().filter(|(_, n)| *n > 0).collect())
            .unwrap_or_default(),
        state,
    }
}

/// The run's own command line (as its journal recorded it) resuming run `id`:
/// any `--resume`/`--retry-failed` it had is replaced.
pub fn resume_command(args: &[String], id: &str) -> Option<String> {
    let mut out = vec!["scimport".to_string()];
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--resume" | "--retry-failed" => {
                rest.next();
            }
            _ if a.starts_with("--resume=") || a.starts_with("--retry-failed=") => {}
            _ => out.push(crate::model::shell::shell_quote(a)),
        }
    }
    (out.len() > 1).then(|| {
        out.extend(["--resume".to_string(), crate::model::shell::shell_quote(id)]);
        out.join(" ")
    })
}

impl RunInfo {
    /// The command that finishes this run (`None` when its command line is
    /// unknown, or it ran against the embedded emulator, which keeps no state).
    pub fn resume_command(&self) -> Option<String> {
        if self.target.as_deref() == Some("embedded-emulator") {
            return None;
        }
        resume_command(&self.args, &self.id)
    }

    /// The command that runs this run's failed rows again (`None` when its command
    /// line is unknown, or it ran against the embedded emulator, whose users are
    /// gone). A sync retries by running again: its own command line.
    pub fn retry_command(&self) -> Option<String> {
        if self.target.as_deref() == Some("embedded-emulator") || self.args.len() < 2 {
            return None;
        }
        match self.command.as_deref() {
            Some("import") => Some(retry_command(&self.args, &self.id)),
            Some(_) => resume_command(&self.args, &self.id).and_then(|c| {
                c.rsplit_once(" --resume ")
                    .map(|(head, _)| head.to_string())
            }),
            None => None,
        }
    }
}

/// Flags of a recorded command line that name where a run went (its target and
/// its runs directory): a retry must repeat them.
pub const TARGET_FLAGS: [&str; 7] = [
    "--profile",
    "--region",
    "--api-url",
    "--login-url",
    "--token-url",
    "--config",
    "--runs-dir",
];

/// The command that runs the failed rows of import run `id` again: `scimport import
/// --retry-failed <id>` with the target flags and `--runs-dir` of its recorded
/// command line `args`, never a secret (secrets are never flags).
pub fn retry_command(args: &[String], id: &str) -> String {
    let q = crate::model::shell::shell_quote;
    let mut out = vec![format!("scimport import --retry-failed {}", q(id))];
    let mut rest = args.iter().skip(1);
    while let Some(a) = rest.next() {
        if TARGET_FLAGS.contains(&a.as_str()) {
            if let Some(v) = rest.next() {
                out.push(format!("{a} {}", q(v)));
            }
        } else if let Some((flag, v)) = a.split_once('=')
            && TARGET_FLAGS.contains(&flag)
        {
            out.push(format!("{flag} {}", q(v)));
        }
    }
    out.join(" ")
}

/// Every run under `runs_dir`, newest first.
pub fn list(runs_dir: &Path) -> Vec<RunInfo> {
    run_dirs(runs_dir).iter().map(describe).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_repeats_the_target_and_runs_dir_and_nothing_else() {
        let args: Vec<String> = [
            "scimport",
            "import",
            "in put.csv",
            "-m",
            "map.toml",
            "--api-url",
            "https://api.example.com",
            "--runs-dir=/tmp/my runs",
            "--region",
            "eu-west-1",
            "--concurrency",
            "4",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            retry_command(&args, "20261206T000850.499Z-a123"),
            "scimport import --retry-failed 20261206T000850.499Z-a123 \
             --api-url https://api.example.com --runs-dir '/tmp/my runs' --region eu-west-1"
        );
    }

    fn run(root: &Path, id: &str, audit_tail: Option<&str>, summary: Option<&str>) -> RunDir {
        let dir = RunDir {
            root: root.join(id),
            id: id.to_string(),
        };
        std::fs::create_dir_all(&dir.root).unwrap();
        std::fs::write(
            dir.root.join(JOURNAL_FILE),
            format!(
                r#"{{"t":"meta","run_id":"{id}","target":"https://api.example","dry_run":false,"created_at":"2026-12-06T05:53:59Z","args":["scimport","import","hr.csv"]}}
{{"t":"intent","row":1}}
"#
            ),
        )
        .unwrap();
        if let Some(kind) = audit_tail {
            std::fs::write(
                dir.root.join(AUDIT_FILE),
                format!("{{\"kind\":\"start\"}}\n{{\"kind\":\"{kind}\"}}\n"),
            )
            .unwrap();
        }
        if let Some(s) = summary {
            std::fs::write(dir.summary_path(), s).unwrap();
        }
        dir
    }

    const DONE: &str = r#"{"run_id":"x","rows":3,"outcomes":{"succeeded":2,"failed":1,"invalid":0},"actions":{},"stopped":null}"#;
    const STOPPED: &str =
        r#"{"run_id":"x","rows":3,"outcomes":{"pending":3},"actions":{},"stopped":"interrupted"}"#;

    #[test]
    fn states_come_from_the_seal_the_summary_and_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let runs = tmp.path();
        run(runs, "20261206T050000.000Z-aaaa", Some("seal"), Some(DONE));
        run(
            runs,
            "20261206T060000.000Z-bbbb",
            Some("seal"),
            Some(STOPPED),
        );
        // A kill: the summary of the stopped run before it was resumed, an
        // unsealed log after.
        run(
            runs,
            "20261206T070000.000Z-cccc",
            Some("decision"),
            Some(STOPPED),
        );
        let held = run(runs, "20261206T080000.000Z-dddd", Some("decision"), None);
        let _lock = RunLock::acquire(&held).unwrap();
        std::fs::create_dir_all(runs.join("sync-state")).unwrap();

        let all = list(runs);
        let ids: Vec<_> = all.iter().map(|r| (r.id.as_str(), r.state)).collect();
        assert_eq!(
            ids,
            [
                ("20261206T080000.000Z-dddd", RunState::Running),
                ("20261206T070000.000Z-cccc", RunState::Crashed),
                ("20261206T060000.000Z-bbbb", RunState::Stopped),
                ("20261206T050000.000Z-aaaa", RunState::Finished),
            ]
        );
        let done = &all[3];
        assert_eq!(done.command.as_deref(), Some("import"));
        assert_eq!(done.target.as_deref(), Some("https://api.example"));
        assert_eq!(done.rows, Some(3));
        assert_eq!(
            done.outcomes,
            BTreeMap::from([("failed".into(), 1), ("succeeded".into(), 2)])
        );
    }

    #[test]
    fn the_resume_command_repeats_the_run_and_replaces_its_resume() {
        let args: Vec<String> = [
            "/usr/bin/scimport",
            "import",
            "my hr.csv",
            "--retry-failed",
            "OLD",
            "--api-url",
            "https://api.example",
            "--resume=X",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            resume_command(&args, "NEW").as_deref(),
            Some("scimport import 'my hr.csv' --api-url https://api.example --resume NEW")
        );
        assert_eq!(resume_command(&[], "NEW"), None);
    }
}
