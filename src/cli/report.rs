//! `scimport report <run-id>`: writes the run's `report.html` (one self-contained
//! page: outcomes, pace against the tenant's budget, latency, errors with the
//! command that retries them, the audit head) and prints its path; `--open` shows
//! it in the default browser where there is one. Thin: the page is `report`.

use std::path::{Path, PathBuf};

use super::{ExitStatus, Printer};
use crate::ledger::RunDir;

/// Arguments of `scimport report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The run: a run id under --runs-dir, `latest` (the newest run), or a run
    /// directory.
    pub run: String,
    /// Where run directories live.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Open the report in the default browser (xdg-open, or open on macOS); where
    /// there is none, say so and still exit 0.
    #[arg(long)]
    pub open: bool,
    /// Write the page here instead of `report.html` in the run directory.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `scimport report`.
pub fn run(args: Args, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let run = RunDir::open(&args.runs_dir, &args.run)?;
    let path = crate::report::write_report(&run, &args.runs_dir, args.out.as_deref())?;
    printer.out(&path.display().to_string());
    if args.open
        && let Some(note) = open_in_browser(&path)
    {
        printer.notice(&note);
    }
    Ok(ExitStatus::Success)
}

/// Starts the platform's opener on `path`, without waiting for the browser; a
/// note for the user when there is no opener or no graphical session.
fn open_in_browser(path: &Path) -> Option<String> {
    let manual = format!("open {} in a browser", path.display());
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return Some(format!(
                "note: no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set): {manual}"
            ));
        }
        "xdg-open"
    };
    match std::process::Command::new(opener)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
    {
        Ok(_) => None,
        Err(e) => Some(format!(
            "note: cannot start {opener} ({e}): no default browser here; {manual}"
        )),
    }
}
