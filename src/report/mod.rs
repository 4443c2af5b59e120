//! `report.html`: one self-contained page (inline CSS and SVG, nothing loaded from
//! the network) that shows a person what a run did, where the time went, how
//! close it kept to the tenant's budget, and what failed and how to retry it.
//!
//! The layers point one way: [`gather`] reads the run directory (summary.json,
//! [`ledger_scan`] over the ledger, [`audit_scan`] over the audit log, each
//! streamed once with bounded memory), [`charts`] draws with plotters, [`page`]
//! fills the minijinja template `templates/report.html`. Nothing below `report`
//! depends on it; the command line (`cli::report`) only resolves the run, calls
//! [`write_report`] and prints the path.
//!
//! ```no_run
//! use scimport::ledger::RunDir;
//! let runs = std::path::Path::new("runs");
//! let run = RunDir::open(runs, "latest")?;
//! let path = scimport::report::write_report(&run, runs, None)?;
//! println!("{}", path.display());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod audit_scan;
pub mod charts;
pub mod commands;
pub mod error;
pub mod fixes;
pub mod format;
pub mod gather;
pub mod histogram;
pub mod ledger_scan;
pub mod page;
pub mod summary;
pub mod timeline;

use std::path::{Path, PathBuf};

pub use error::ReportError;
pub use gather::{ReportData, gather};

use crate::ledger::RunDir;

/// The report's file name in the run directory.
pub const REPORT_FILE: &str = "report.html";

/// The report page of `run` (under `runs_dir`), as HTML.
pub fn render_report(run: &RunDir, runs_dir: &Path) -> Result<String, ReportError> {
    page::render(&gather(run, runs_dir))
}

/// Writes the report of `run` to `out` (default: `report.html` in the run
/// directory), atomically (a temporary file, then a rename), and returns its path.
pub fn write_report(
    run: &RunDir,
    runs_dir: &Path,
    out: Option<&Path>,
) -> Result<PathBuf, ReportError> {
    let html = render_report(run, runs_dir)?;
    let path = out.map_or_else(|| run.root.join(REPORT_FILE), Path::to_path_buf);
    let io = |source| ReportError::Io {
        path: path.clone(),
        source,
    };
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, html).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(path)
}
