//! `scimport ledger`: read a run's result ledger (`summary`, `failed`, `export`).
//!
//! Reads `runs/<run-id>/ledger.parquet` with our own reader (`ledger::read_ledger`);
//! never writes anything.

use std::path::PathBuf;

use anyhow::Context;

use super::{ExitStatus, Printer};
use crate::ledger::run_dir::LEDGER_FILE;
use crate::ledger::runs::RunState;
use crate::ledger::{Outcome, RunDir, RunSummary, read_ledger, summarize_ledger};
use crate::model::ErrorKind;

mod export;
mod human;

/// Subcommands of `scimport ledger`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print a run's counts: rows, outcomes, actions and the most frequent error kinds.
    Summary(SummaryArgs),
    /// Print a run's failed and invalid rows (row, external_id, user_name, error_kind,
    /// error) and where its failed.csv is.
    Failed(FailedArgs),
    /// Write a run's ledger as CSV, JSON or JSON Lines (every column; `--split` for a
    /// success file with the Genesys ids to write back to the HR system and an error
    /// file).
    Export(export::ExportArgs),
}

/// Arguments of `scimport ledger summary`.
#[derive(Debug, clap::Args)]
pub struct SummaryArgs {
    /// A run id (under --runs-dir), `latest`, a run directory, or a ledger.parquet file.
    pub run: String,
    /// Print the run's summary.json (or the same shape computed from the ledger),
    /// every field, for machines.
    #[arg(long)]
    pub json: bool,
    /// Where run directories live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
}

/// Arguments of `scimport ledger failed`.
#[derive(Debug, clap::Args)]
pub struct FailedArgs {
    /// A run id (under --runs-dir), a run directory, or a ledger.parquet file.
    pub run: String,
    /// Where run directories live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
}

/// Runs `scimport ledger`.
pub fn run(cmd: Command, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match cmd {
        Command::Summary(args) => summary(args, printer),
        Command::Failed(args) => failed(args, printer),
        Command::Export(args) => export::run(args, printer),
    }
}

/// Says when a run is not finished, and how to finish it.
fn warn_unfinished(printer: &Printer, run: &RunDir, ledger: &std::path::Path) {
    let info = crate::ledger::runs::describe(run);
    let finish = info
        .resume_command()
        .map_or(String::new(), |c| format!("; finish it with: {c}"));
    let stale = if ledger.is_file() {
        "the ledger below is from before it stopped and is not final"
    } else {
        "it has no ledger yet"
    };
    match info.state {
        RunState::Finished => {}
        RunState::Running => printer.error(&format!(
            "run {} is running now (another process holds it): {stale}",
            run.id
        )),
        RunState::Crashed => printer.error(&format!(
            "run {} did not finish (killed or crashed: its audit log is not sealed): {stale}{finish}",
            run.id
        )),
        RunState::Stopped => printer.error(&format!(
            "run {} was stopped before it finished{finish}",
            run.id
        )),
    }
}

fn summary(args: SummaryArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (run, ledger) = RunDir::resolve_file(&args.runs_dir, &args.run, LEDGER_FILE)?;
    // On stderr: a script reading --json still hears of it.
    warn_unfinished(printer, &run, &ledger);
    let counts = summarize_ledger(&ledger)
        .with_context(|| format!("cannot summarise the ledger of run {}", run.id))?;
    let from_file = run
        .summary_path()
        .is_file()
        .then(|| RunSummary::read(&run.summary_path()))
        .transpose()?;
    let computed = RunSummary::new(
        from_file
            .as_ref()
            .map_or(run.id.as_str(), |s| s.run_id.as_str()),
        &counts,
    );
    if let Some(file) = &from_file
        && (file.rows != computed.rows || file.outcomes != computed.outcomes)
    {
        printer.error(&format!(
            "{} disagrees with {}: {} rows {:?} vs {} rows {:?}",
            run.summary_path().display(),
            ledger.display(),
            file.rows,
            file.outcomes,
            computed.rows,
            computed.outcomes
        ));
    }
    let details = from_file
        .as_ref()
        .map(|f| f.details.clone())
        .unwrap_or_default();
    if args.json {
        let out = from_file.unwrap_or(computed);
        printer.out(&serde_json::to_string_pretty(&out)?);
        return Ok(ExitStatus::Success);
    }
    let pairs = |m: &std::collections::BTreeMap<String, u64>, order: &[&str]| {
        order
            .iter()
            .map(|k| format!("{k} {}", m.get(*k).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ")
    };
    printer.out(&format!("run         {}", computed.run_id));
    printer.out(&format!("rows        {}", computed.rows));
    printer.out(&format!(
        "outcomes    {}",
        pairs(&computed.outcomes, &Outcome::ALL.map(Outcome::as_str))
    ));
    printer.out(&format!(
        "actions     {}",
        pairs(
            &computed.actions,
            &crate::ledger::Action::ALL.map(crate::ledger::Action::as_str)
        )
    ));
    let top = counts.top_error_kinds(10);
    if top.is_empty() {
        printer.out("errors      none");
    } else {
        printer.out("errors      (top 10 kinds)");
        let width = top.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (kind, n) in top {
            printer.out(&format!("  {kind:<width$}  {n}"));
        }
    }
    for (label, text) in human::details(&details) {
        printer.out(&format!("{label:<11} {text}"));
    }
    printer.out(&format!("ledger      {}", ledger.display()));
    Ok(ExitStatus::Success)
}

fn failed(args: FailedArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (run, ledger) = RunDir::resolve_file(&args.runs_dir, &args.run, LEDGER_FILE)?;
    let rows = read_ledger(&ledger)
        .with_context(|| format!("cannot read the ledger of run {}", run.id))?;
    let clean = |s: Option<&str>| s.unwrap_or("").replace(['\t', '\n', '\r'], " ");
    printer.out("row\texternal_id\tuser_name\terror_kind\terror");
    let mut n = 0u64;
    for r in rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed | Outcome::Invalid))
    {
        n += 1;
        printer.out(&format!(
            "{}\t{}\t{}\t{}\t{}",
            r.row,
            clean(r.external_id.as_deref()),
            clean(r.user_name.as_deref()),
            clean(r.error_kind.map(ErrorKind::as_str)),
            clean(r.error.as_deref()),
        ));
    }
    printer.info(&format!("{n} failed or invalid row(s) in run {}", run.id));
    if n > 0
        && run.failed_path().is_file()
        && let Some(cmd) = crate::ledger::runs::describe(&run).retry_command()
    {
        printer.info(&format!(
            "fix them in {} and run: {cmd}",
            run.failed_path().display()
        ));
    }
    Ok(ExitStatus::Success)
}
