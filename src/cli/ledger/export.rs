//! `scimport ledger export`: a run's ledger as CSV, JSON or JSON Lines, on standard
//! output, into a file, or split into a success file (with the Genesys ids to write
//! back to the HR system) and an error file. The work is `ledger::export`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::super::{ExitStatus, Printer};
use crate::ledger::export::{Format, Output, export, is_success};
use crate::ledger::run_dir::LEDGER_FILE;
use crate::ledger::{Outcome, RunDir};

/// Arguments of `scimport ledger export`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  scimport ledger export latest --format csv > ledger.csv
  scimport ledger export latest --format json --outcome succeeded -o created.json
  scimport ledger export latest --split      # success.csv and error.csv in the run directory

A success file holds the succeeded and skipped rows: external_id, user_name and
scim_id (the Genesys user id) are what an HR system writes back. An error file
holds the failed, invalid and pending rows with error_kind and error.")]
pub struct ExportArgs {
    /// A run id (under --runs-dir), `latest`, a run directory, or a ledger.parquet file.
    pub run: String,
    /// csv (a header row, `changed_fields` joined by `;`), json (one array) or ndjson
    /// (one object per line).
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Write here instead of standard output (`-` is standard output). With --split,
    /// the directory for the two files (default: the run directory).
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Only rows with these outcomes (comma-separated: succeeded, skipped, failed,
    /// invalid, pending).
    #[arg(long, value_delimiter = ',', value_parser = parse_outcome, conflicts_with = "split")]
    pub outcome: Vec<Outcome>,
    /// Write two files, success.<format> and error.<format>, as Salesforce Data
    /// Loader does.
    #[arg(long)]
    pub split: bool,
    /// Where run directories live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
}

fn parse_outcome(s: &str) -> Result<Outcome, String> {
    Outcome::parse(s.trim()).ok_or_else(|| {
        format!(
            "unknown outcome {s:?}; one of: {}",
            Outcome::ALL.map(Outcome::as_str).join(", ")
        )
    })
}

/// Runs `scimport ledger export`.
pub fn run(args: ExportArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (run, ledger) = RunDir::resolve_file(&args.runs_dir, &args.run, LEDGER_FILE)?;
    if !ledger.is_file() {
        anyhow::bail!(
            "run {} has no ledger yet ({} is missing); `scimport runs` shows how it ended",
            run.id,
            ledger.display()
        );
    }
    super::warn_unfinished(printer, &run, &ledger);
    if args.split {
        return split(&args, &run, &ledger, printer);
    }
    let wanted = args.outcome.clone();
    let keep = move |o: Outcome| wanted.is_empty() || wanted.contains(&o);
    let to_file = args.output.as_deref().filter(|p| *p != Path::new("-"));
    let rows = match to_file {
        Some(path) => write_file(path, |w| {
            let mut outs = [Output::new(w, path, args.format, keep)];
            export(&ledger, &mut outs)?;
            Ok(outs[0].rows)
        })?,
        None => {
            let stdout = std::io::stdout();
            let mut w = std::io::BufWriter::new(stdout.lock());
            let mut outs = [Output::new(&mut w, "standard output", args.format, keep)];
            match export(&ledger, &mut outs) {
                Ok(()) => outs[0].rows,
                // `| head` closed the pipe: stop quietly, as other commands do.
                Err(e) if broken_pipe(&e) => return Ok(ExitStatus::Success),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let dest = to_file.map_or("standard output".to_string(), |p| p.display().to_string());
    printer.info(&format!(
        "{rows} row(s) of run {} written to {dest}",
        run.id
    ));
    Ok(ExitStatus::Success)
}

fn split(
    args: &ExportArgs,
    run: &RunDir,
    ledger: &Path,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let dir = args.output.clone().unwrap_or_else(|| run.root.clone());
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let ext = args.format.extension();
    let (ok_path, err_path) = (
        dir.join(format!("success.{ext}")),
        dir.join(format!("error.{ext}")),
    );
    let (ok_rows, err_rows) = write_file(&ok_path, |ok_w| {
        write_file(&err_path, |err_w| {
            let mut outs = [
                Output::new(ok_w, &ok_path, args.format, is_success),
                Output::new(err_w, &err_path, args.format, |o| !is_success(o)),
            ];
            export(ledger, &mut outs)?;
            Ok((outs[0].rows, outs[1].rows))
        })
    })?;
    printer.out(&format!(
        "{}: {ok_rows} row(s) (external_id, user_name and scim_id to write back to the HR system)",
        ok_path.display()
    ));
    printer.out(&format!("{}: {err_rows} row(s)", err_path.display()));
    if err_rows > 0 {
        let info = crate::ledger::runs::describe(run);
        if let Some(cmd) = info.retry_command() {
            printer.out(&format!("fix the failed rows, then: {cmd}"));
        }
    }
    Ok(ExitStatus::Success)
}

/// Writes `path` through a temporary file renamed into place when `fill` succeeds,
/// so a half-written export never exists.
fn write_file<T>(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(parent)
        .with_context(|| format!("cannot write into {}", parent.display()))?;
    let mut w = std::io::BufWriter::new(tmp);
    let out = fill(&mut w)?;
    let tmp = w
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(out)
}

fn broken_pipe(e: &crate::ledger::LedgerError) -> bool {
    matches!(e, crate::ledger::LedgerError::Io { source, .. }
        if source.kind() == std::io::ErrorKind::BrokenPipe)
}
