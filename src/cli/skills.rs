//! `scimport skills verify <run-id>`: reads each user of a run back through
//! Genesys's platform API (`/api/v2/users/{id}/routingskills` and
//! `/routinglanguages`) and compares what they hold with what the run's mapping
//! asked; writes `skills-verify.parquet` in the run directory. Exit 0 when every
//! user matches, 1 on any mismatch, 2 when the run cannot be verified.
//!
//! Thin: the work is `skills::verify`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::args::CallArgs;
use super::settings::{self, TargetArgs};
use super::{ExitStatus, Printer};
use crate::ledger::RunDir;
use crate::skills::verify::VerifyReport;
use crate::skills::verify::run::{VerifyOptions, verify};

/// Mismatches printed in the summary (all of them are in the parquet file).
const SHOWN: usize = 5;

/// `scimport skills ...`
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Read each user of a run back through the platform API (routing skills and
    /// languages, every page) and compare with what the run's mapping asked:
    /// name and proficiency, missing and unexpected ones. Writes
    /// skills-verify.parquet in the run directory (one row per user and skill or
    /// language: run_id, row, external_id, user_id, kind, name, expected, actual,
    /// match, problem). Exit 1 on any mismatch. Needs the run's input unchanged
    /// (what it asked is recomputed from it) and the same target.
    Verify(VerifyArgs),
}

/// Arguments of `scimport skills verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The run id (or its directory).
    pub run: String,
    /// Where run directories live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Page size of the users' listings (1 to 100).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub page_size: u64,
    /// The target (the run's own).
    #[command(flatten)]
    pub target: TargetArgs,
    /// How calls are made (`--rate`, `--concurrency`, ...), as for `import`.
    #[command(flatten)]
    pub calls: CallArgs,
}

/// Runs `scimport skills ...`.
pub fn run(cmd: Command, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match cmd {
        Command::Verify(args) => run_verify(args, printer),
    }
}

fn run_verify(args: VerifyArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let dir = RunDir::open(&args.runs_dir, &args.run)?;
    let target = settings::resolve(&args.target)?.context(
        "no target: give the run's --api-url or --region (or a --config file / .env that \
         names one); a run against the embedded emulator cannot be verified",
    )?;
    if target.profile != crate::scim::target::Profile::Genesys {
        anyhow::bail!(
            "skills verify reads Genesys's platform API (/api/v2/users/{{id}}/routingskills); \
             the generic profile has none"
        );
    }
    let options = args.calls.api_options(true)?;
    let opts = VerifyOptions {
        dir,
        target: target.api_url.clone(),
        page_size: args.page_size,
        concurrency: options.concurrency,
    };
    let report =
        super::args::with_api(&target, options, async |api| Ok(verify(api, &opts).await?))?;
    print(printer, &report, &args.runs_dir);
    Ok(if report.mismatched == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn print(printer: &Printer, r: &VerifyReport, runs_dir: &Path) {
    printer.out(&format!(
        "skills verify {}: {} users checked, {} matched, {} mismatched ({} ledger rows \
         not checked: no user, not succeeded, or no skills or languages managed; {} calls)",
        r.run_id, r.users, r.matched, r.mismatched, r.skipped, r.calls
    ));
    if r.users == 0 {
        printer.notice(
            "nothing was verified: no succeeded row of this run has skills or languages \
             mapped (blank rules with blank = \"ignore\" ask nothing)",
        );
    }
    for c in r.mismatches().take(SHOWN) {
        let num = |p: Option<f64>| p.map_or_else(|| "none".to_string(), |v| v.to_string());
        printer.out(&format!(
            "  row {} ({}) user {}: {} `{}` {}: expected {}, holds {}",
            c.row,
            c.external_id.as_deref().unwrap_or("-"),
            c.user_id,
            c.kind.as_str(),
            c.name,
            c.problem.map_or("", |p| p.as_str()),
            num(c.expected),
            num(c.actual)
        ));
    }
    let more = r.mismatches().count().saturating_sub(SHOWN);
    if more > 0 {
        printer.out(&format!("  ... and {more} more"));
    }
    printer.out(&format!("wrote {}", r.path.display()));
    if r.mismatched > 0 {
        printer.out(&format!(
            "next: list every mismatch with\n  duckdb -c \"SELECT row, external_id, kind, name, \
             expected, actual, problem FROM '{}' WHERE NOT match\"\nthen fix the assignments \
             (skill exists and is active, the client holds routing:skill:assign) and check \
             again with\n  scimport skills verify {} --runs-dir {}",
            r.path.display(),
            r.run_id,
            runs_dir.display()
        ));
    }
}
