//! `scimport audit`: check a run's audit log (`verify`).
//!
//! Exit 0 when the log is intact and sealed; 1 when it was tampered with (naming the
//! first bad line and what is wrong) or ends without a seal; 2 when it cannot be read.

use std::path::PathBuf;

use super::{ExitStatus, Printer};
use crate::audit::verify;
use crate::ledger::RunDir;
use crate::ledger::run_dir::AUDIT_FILE;

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
}

/// Runs `scimport audit`.
pub fn run(cmd: Command, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match cmd {
        Command::Verify(args) => verify_cmd(args, printer),
    }
}

fn verify_cmd(args: VerifyArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (_run, path) = RunDir::resolve_file(&args.runs_dir, &args.run, AUDIT_FILE)?;
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
    printer.out(&format!(
        "ok {}: {} lines, chain intact, sealed (run {run_id})",
        path.display(),
        report.lines
    ));
    Ok(ExitStatus::Success)
}
