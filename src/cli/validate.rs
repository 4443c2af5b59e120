//! `scimport validate INPUT --mapping FILE`: parses, maps and validates every row
//! on all cores without sending anything; prints a summary (rows, valid, invalid, the
//! most common error kinds) and writes the invalid rows to `--errors FILE` as the
//! original columns plus `row`, `error_kind`, `error`. Exit 0 all valid, 1 some rows
//! invalid, 2 usage or configuration error.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use super::{ExitStatus, Printer};
use crate::apply::execute::MANAGER_UNRESOLVED;
use crate::ledger::failed_csv::FailedCsvWriter;
use crate::mapping::Mapping;
use crate::model::ErrorKind;
use crate::source::{Format, InputSpec};
use crate::validate::managers::{ManagerCheck, Unresolved};
use crate::validate::{PrepareOptions, Prepared, prepare};

/// Arguments of `scimport validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The HR export (CSV or NDJSON, optionally .gz); `-` reads stdin.
    pub input: PathBuf,
    /// The mapping file (TOML).
    #[arg(long, short)]
    pub mapping: PathBuf,
    /// The input format (default: from the extension, else detected).
    #[arg(long, value_enum)]
    pub format: Option<super::args::FormatArg>,
    /// CSV delimiter: comma, semicolon, pipe, tab, or the character itself
    /// (default: detected from the header).
    #[arg(long, value_parser = super::args::parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Longest CSV record or NDJSON line read (bytes, or with a suffix: 512KiB,
    /// 1MiB, 2GiB); a longer one is skipped unread and reported as record_too_large.
    #[arg(long, value_name = "BYTES", default_value = "1MiB", value_parser = super::args::parse_bytes)]
    pub max_record_bytes: usize,
    /// Take row numbers from this column (e.g. `row` in a failed.csv fed back).
    #[arg(long)]
    pub row_column: Option<String>,
    /// Write the invalid rows here (original columns + row, error_kind, error).
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = Output::Human)]
    pub output: Output,
}

/// Summary formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Lines for people.
    Human,
    /// One JSON object.
    Json,
}

/// The summary `--output json` prints.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The input.
    pub input: String,
    /// Data rows read.
    pub rows: u64,
    /// Rows that map to a valid user.
    pub valid: u64,
    /// Rows with at least one problem.
    pub invalid: u64,
    /// Problems by kind, most common first (a row may have several).
    pub error_kinds: Vec<KindCount>,
    /// Invalid rows by the kind of their first problem, most common first: what
    /// an import's ledger and `ledger summary` count (`error_kind`).
    pub invalid_rows_by_kind: Vec<KindCount>,
    /// Where the invalid rows were written.
    pub errors_file: Option<String>,
    /// Valid rows an import would still warn about, by kind (`manager_unresolved`:
    /// the user would be created without its manager, whose row is invalid,
    /// terminated or not in the file). They do not change the exit code.
    pub warnings: Vec<KindCount>,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

/// One error kind and how often it occurred.
#[derive(Debug, Serialize)]
pub struct KindCount {
    /// The kind.
    pub kind: String,
    /// Occurrences.
    pub count: u64,
}

/// How many problems `human` output shows.
const SHOWN: usize = 10;

/// Runs `scimport validate`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let mapping = Mapping::load(&args.mapping)?;
    let spec = InputSpec {
        path: args.input.clone(),
        format: args.format.map(Format::from),
        delimiter: args.delimiter,
        row_column: args.row_column.clone(),
        max_record_bytes: args.max_record_bytes,
    };
    // One pass when the file has no duplicates (the usual case); a file with
    // duplicates is gone through again with them known. Errors written to stdout
    // cannot be taken back, so they get the two passes from the start.
    let to_stdout = args.errors.as_ref().is_some_and(|p| p.as_os_str() == "-");
    // Predicting the users created without their manager needs every valid row's
    // keys and manager: the quick verdict, which builds no user, is off then.
    let managers = mapping
        .field(&crate::mapping::Target::Manager)
        .is_some()
        .then(ManagerCheck::new);
    let opts = PrepareOptions {
        keep_valid_records: false,
        source_hash: false,
        drop_valid: managers.is_none(),
        // The manager check observes rows on the workers, which need their real
        // row numbers: the optimistic pass numbers rows only once a block is back.
        optimistic: !to_stdout && managers.is_none(),
        ..PrepareOptions::default()
    };
    let mut preparer = prepare(&spec, &mapping, opts)?;
    let header = preparer.header().names().to_vec();
    let progress = progress(printer);
    let tally = loop {
        let tally = gather(&mut preparer, &args, &header, &progress, managers.as_ref())?;
        if preparer
            .complete()
            .with_context(|| format!("reading {}", args.input.display()))?
        {
            break tally;
        }
        tracing::debug!("duplicates found: validating again with them known");
        progress.set_message("duplicates found: going through again with them known");
    };
    progress.finish_and_clear();
    let Tally {
        rows,
        invalid,
        kinds,
        rows_by_kind,
        shown,
    } = tally;
    let ranked = |m: HashMap<ErrorKind, u64>| {
        let mut v: Vec<KindCount> = m
            .into_iter()
            .map(|(k, c)| KindCount {
                kind: k.to_string(),
                count: c,
            })
            .collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.kind.cmp(&b.kind)));
        v
    };
    let unresolved = managers.map(ManagerCheck::finish).unwrap_or_default();
    let error_kinds = ranked(kinds);
    let invalid_rows_by_kind = ranked(rows_by_kind);
    let summary = Summary {
        input: args.input.display().to_string(),
        rows,
        valid: rows - invalid,
        invalid,
        error_kinds,
        invalid_rows_by_kind,
        errors_file: args.errors.as_ref().map(|p| p.display().to_string()),
        warnings: if unresolved.is_empty() {
            Vec::new()
        } else {
            vec![KindCount {
                kind: MANAGER_UNRESOLVED.to_string(),
                count: unresolved.len() as u64,
            }]
        },
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    match args.output {
        Output::Json => printer.out(&serde_json::to_string(&summary)?),
        Output::Human => print_human(printer, &summary, &shown, &unresolved),
    }
    Ok(if invalid == 0 {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// What one pass found.
#[derive(Default)]
struct Tally {
    rows: u64,
    invalid: u64,
    kinds: HashMap<ErrorKind, u64>,
    /// Invalid rows by their first problem's kind (what the ledger records).
    rows_by_kind: HashMap<ErrorKind, u64>,
    shown: Vec<String>,
}

/// Goes through the input once: counts rows, tallies the invalid ones and writes
/// them to the errors file (created afresh).
/// A spinner on stderr with the rows read, their rate and the invalid rows found
/// (hidden with `--quiet` or when stderr is not a terminal).
fn progress(printer: &Printer) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    if printer.is_quiet() || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {human_pos} rows ({per_sec}) | {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    // Log lines clear the bar while they are written instead of tearing it.
    crate::cli::logging::attach(&bar);
    bar
}

fn gather(
    preparer: &mut crate::validate::Preparer<'_>,
    args: &Args,
    header: &[String],
    progress: &indicatif::ProgressBar,
    managers: Option<&ManagerCheck>,
) -> anyhow::Result<Tally> {
    progress.reset();
    let mut failed = match &args.errors {
        Some(p) => Some(FailedCsvWriter::try_new(p, header)?),
        None => None,
    };
    let mut t = Tally::default();
    // Valid users are counted and dropped on the worker that built them; only the
    // invalid rows come back here, in row order.
    let keep = |p: &Prepared| {
        if let Some(m) = managers {
            m.observe(p);
        }
        p.result.is_err()
    };
    while let Some(batch) = preparer.next_filtered(&keep) {
        let batch = batch.with_context(|| format!("reading {}", args.input.display()))?;
        let invalid_before = t.invalid;
        for (n, bad) in batch {
            t.rows += n;
            progress.inc(n);
            for p in bad {
                let Err(errors) = &p.result else { continue };
                t.invalid += 1;
                if let Some(first) = errors.first() {
                    *t.rows_by_kind.entry(first.kind).or_default() += 1;
                }
                for e in errors {
                    *t.kinds.entry(e.kind).or_default() += 1;
                    if t.shown.len() < SHOWN {
                        t.shown.push(format!("row {}: {e}", e.row));
                    }
                }
                if let Some(w) = failed.as_mut() {
                    w.write_errors(&p.record, errors)?;
                }
            }
        }
        if t.invalid != invalid_before {
            progress.set_message(format!("{} invalid", t.invalid));
        }
    }
    if let Some(w) = failed {
        w.close()?;
    }
    Ok(t)
}

fn print_human(printer: &Printer, s: &Summary, shown: &[String], unresolved: &[Unresolved]) {
    printer.out(&format!(
        "{}: {} rows, {} valid, {} invalid",
        s.input, s.rows, s.valid, s.invalid
    ));
    if !s.error_kinds.is_empty() {
        printer.out(
            "most common problems (a row may have several; the ledger counts each invalid row once, under its first):",
        );
        for k in s.error_kinds.iter().take(8) {
            printer.out(&format!("  {:<24} {}", k.kind, k.count));
        }
        printer.out(&format!("first {} problem(s):", shown.len()));
        for line in shown {
            printer.out(&format!("  {line}"));
        }
    }
    match &s.errors_file {
        Some(f) if s.invalid > 0 => printer.out(&format!(
            "invalid rows written to {f} (fix them and validate that file again)"
        )),
        None if s.invalid > 0 => {
            printer.info("hint: --errors FILE writes the invalid rows with their problems")
        }
        _ => {}
    }
    if !unresolved.is_empty() {
        printer.out(&format!(
            "warnings (valid rows; the exit code does not count them): {MANAGER_UNRESOLVED} {}: users an import creates without their manager, and links once the manager exists",
            unresolved.len()
        ));
        for u in unresolved.iter().take(SHOWN) {
            printer.out(&format!("  {u}"));
        }
    }
}
