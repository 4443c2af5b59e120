//! `scimport audit`: check a run's audit log (`verify`).
//!
//! Exit 0 when the log is intact and sealed (and, when given, its head is the
//! expected one); 1 when it was tampered with (naming the first bad line and what is
//! wrong), ends without a seal, has another head than `--expect-head`, or has another
//! line count than its run's summary.json; 2 when it cannot be read.

use std::path::{Path, PathBuf};

use super::{ExitStatus, Printer};
use crate::audit::verify;
use crate::ledger::run_dir::{AUDIT_FILE, SUMMARY_FILE};
use crate::ledger::{RunDir, RunSummary};

/// Subcommands of `scimport audit`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check that a run's audit log is intact: no line edited, removed, reordered or
    /// cut off. Exit 0 intact, 1 tampered.
    Verify(VerifyArgs),
}

/// Arguments of `scimport audit verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// A run id (under --runs-dir), a run directory, or an audit.jsonl file.
    pub run: String,
    /// Where run directories live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// The head the run printed last (`audit head sha256:<hex>`), kept apart from
    /// the run directory: a log rewritten with a recomputed chain, or truncated with
    /// a forged seal, has another head. `sha256:` may be left out.
    #[arg(long, value_name = "HEX")]
    pub expect_head: Option<String>,
}

/// Runs `scimport audit`.
pub fn run(cmd: Command, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match cmd {
        Command::Verify(args) => verify_cmd(args, printer),
    }
}

fn verify_cmd(args: VerifyArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let expect = match args.expect_head.as_deref() {
        Some(h) => Some(parse_head(h)?),
        None => None,
    };
    let (run, path) = RunDir::resolve_file(&args.runs_dir, &args.run, AUDIT_FILE)?;
    let report = verify(&path)?;
    let run_id = report.run_id.as_deref().unwrap_or("?");
    if let Some(p) = &report.problem {
        printer.out(&format!(
            "TAMPERED {}: line {}: {}",
            path.display(),
            p.line,
            p.what
        ));
        return Ok(ExitStatus::Failure);
    }
    if !report.sealed {
        printer.out(&format!(
            "UNSEALED {}: line {} is the last and no seal follows it: the tail was cut off, \
             or run {run_id} crashed or is still running (resume it to seal the log)",
            path.display(),
            report.lines
        ));
        return Ok(ExitStatus::Failure);
    }
    let head = report.head.clone().unwrap_or_default();
    if let Some(want) = &expect
        && *want != head
    {
        printer.out(&format!(
            "TAMPERED {}: its head is sha256:{head}, not the expected sha256:{want}: the log \
             was rewritten, truncated and resealed, or appended to since that head was printed",
            path.display()
        ));
        return Ok(ExitStatus::Failure);
    }
    if let Some(n) = summary_lines(&path, &run)?
        && n != report.lines
    {
        printer.out(&format!(
            "TAMPERED {}: {} lines, but summary.json recorded {n}: lines were removed or \
             added (if a resume of run {run_id} is still going or crashed, finish it first)",
            path.display(),
            report.lines
        ));
        return Ok(ExitStatus::Failure);
    }
    printer.out(&format!(
        "ok {}: {} lines, chain intact, sealed (run {run_id}), head sha256:{head}{}",
        path.display(),
        report.lines,
        if expect.is_some() { " as expected" } else { "" }
    ));
    Ok(ExitStatus::Success)
}

/// `--expect-head`: 64 hex digits, optionally after `sha256:`, in lowercase.
fn parse_head(given: &str) -> anyhow::Result<String> {
    let hex = given.trim();
    let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        anyhow::bail!(
            "--expect-head {given:?}: give the 64 hex digits the run printed last \
             (`audit head sha256:<hex>`)"
        );
    }
    Ok(hex.to_ascii_lowercase())
}

/// The `audit_lines` of the summary.json next to the log, when there is one.
fn summary_lines(audit: &Path, run: &RunDir) -> anyhow::Result<Option<u64>> {
    let dir = audit.parent().unwrap_or(&run.root);
    let path = dir.join(SUMMARY_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let summary = RunSummary::read(&path)?;
    Ok(summary.details.get("audit_lines").and_then(|v| v.as_u64()))
}
