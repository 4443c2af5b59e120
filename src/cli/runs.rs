//! `scimport runs`: the runs under `--runs-dir`, newest first, so that nobody has
//! to copy an id like `20261206T000850.499Z-a123` by hand (and `latest` is
//! accepted wherever a run id is). Thin: the listing is `ledger::runs`.

use std::path::PathBuf;

use super::{ExitStatus, Printer};
use crate::ledger::runs::{self, RunInfo, RunState};

/// Arguments of `scimport runs`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where run directories live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Show at most this many runs (the newest).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// One JSON object per run, one per line, every run (no limit).
    #[arg(long)]
    pub json: bool,
}

fn outcomes(r: &RunInfo) -> String {
    if r.outcomes.is_empty() {
        return "-".into();
    }
    crate::ledger::Outcome::ALL
        .iter()
        .filter_map(|o| {
            let n = r.outcomes.get(o.as_str())?;
            Some(format!("{n} {}", o.as_str()))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn started(r: &RunInfo) -> String {
    r.started
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(
            || "-".into(),
            |t| {
                t.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            },
        )
}

/// Runs `scimport runs`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let all = runs::list(&args.runs_dir);
    if args.json {
        for r in &all {
            printer.out(&serde_json::to_string(r)?);
        }
        return Ok(ExitStatus::Success);
    }
    if all.is_empty() {
        printer.out(&format!("no runs in {}", args.runs_dir.display()));
        return Ok(ExitStatus::Success);
    }
    let shown = &all[..all.len().min(args.limit.max(1))];
    let rows: Vec<[String; 7]> = shown
        .iter()
        .map(|r| {
            let command = match (&r.command, r.dry_run) {
                (Some(c), true) => format!("{c} (dry run)"),
                (Some(c), false) => c.clone(),
                (None, _) => "-".into(),
            };
            [
                r.id.clone(),
                started(r),
                command,
                r.target.clone().unwrap_or_else(|| "-".into()),
                r.rows.map_or_else(|| "-".into(), |n| n.to_string()),
                r.state.as_str().to_string(),
                outcomes(r),
            ]
        })
        .collect();
    let head = [
        "RUN",
        "STARTED (UTC)",
        "COMMAND",
        "TARGET",
        "ROWS",
        "STATE",
        "OUTCOMES",
    ];
    let mut width = head.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        s
    };
    printer.out(&line(&head.map(String::from)));
    for row in &rows {
        printer.out(&line(row));
    }
    if all.len() > shown.len() {
        printer.info(&format!(
            "{} older run(s) not shown (--limit {})",
            all.len() - shown.len(),
            all.len()
        ));
    }
    // Unfinished runs say how to finish them: the same command line, resuming.
    for r in shown
        .iter()
        .filter(|r| matches!(r.state, RunState::Stopped | RunState::Crashed))
    {
        if let Some(again) = r.resume_command() {
            printer.info(&format!(
                "{} is {}; finish it with: {again}",
                r.id,
                r.state.as_str()
            ));
        }
    }
    Ok(ExitStatus::Success)
}
