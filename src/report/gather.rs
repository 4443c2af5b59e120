//! Collects what the report shows from a run directory: the run's description
//! (`ledger::runs`), summary.json, the ledger and the audit log, each streamed once.
//!
//! A missing or unreadable file is not an error here: an unfinished run (no
//! summary.json, no ledger, a torn audit log) still gets a report, which says what
//! is missing and why (the `notes`).

use std::path::{Path, PathBuf};

use super::audit_scan::{AuditStats, scan_audit};
use super::ledger_scan::{LedgerStats, scan_ledger};
use super::summary::{SummaryView, read_summary};
use crate::ledger::RunDir;
use crate::ledger::runs::{self, RunInfo, RunState};

/// Everything known about one run.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The run, as `scimport runs` lists it (id, command, target, state...).
    pub info: RunInfo,
    /// Where its runs directory is (for the printed commands).
    pub runs_dir: PathBuf,
    /// summary.json, when the run wrote one.
    pub summary: Option<SummaryView>,
    /// The ledger's figures, when the run has a readable ledger.
    pub ledger: Option<LedgerStats>,
    /// The audit log's figures, when readable.
    pub audit: Option<AuditStats>,
    /// What is missing or unreadable, for the reader.
    pub notes: Vec<String>,
}

/// Reads the run in `run` (under `runs_dir`).
pub fn gather(run: &RunDir, runs_dir: &Path) -> ReportData {
    let info = runs::describe(run);
    let mut notes = Vec::new();
    let chain = |e: &dyn std::error::Error| {
        let mut s = e.to_string();
        let mut src = e.source();
        while let Some(c) = src {
            s.push_str(": ");
            s.push_str(&c.to_string());
            src = c.source();
        }
        crate::secrets::redact(&s).into_owned()
    };
    match info.state {
        RunState::Finished => {}
        RunState::Stopped => notes.push(
            "This run was stopped before it finished: the rows still pending are counted as \
             pending. Resume it to finish it."
                .into(),
        ),
        RunState::Crashed => notes.push(
            "This run did not finish: it ended without sealing its audit log (killed, crashed \
             or power lost). Its figures are what it logged so far; a ledger or summary from \
             before the crash is stale. Resume it to finish it."
                .into(),
        ),
        RunState::Running => notes
            .push("This run is still running: the figures are what it has written so far.".into()),
    }
    let summary = match read_summary(&run.summary_path()) {
        Ok(Some(s)) => Some(s),
        Ok(None) => {
            notes.push("The run wrote no summary.json (it did not finish).".into());
            None
        }
        Err(e) => {
            notes.push(format!("summary.json cannot be read: {}", chain(&e)));
            None
        }
    };
    let ledger = if run.ledger_path().exists() {
        match scan_ledger(&run.ledger_path()) {
            Ok(l) => Some(l),
            Err(e) => {
                notes.push(format!("The ledger cannot be read: {}", chain(&e)));
                None
            }
        }
    } else {
        notes.push(
            "The run has no ledger.parquet (it did not finish): the outcomes shown are each \
             row's last decision in its audit log."
                .into(),
        );
        None
    };
    let audit = if run.audit_path().exists() {
        match scan_audit(&run.audit_path()) {
            Ok(a) => {
                if let Some(first) = &a.first_unreadable {
                    notes.push(format!(
                        "{} line(s) of the audit log could not be read and are left out \
                         (the first: {first}); `scimport audit verify` checks the log.",
                        a.unreadable
                    ));
                }
                Some(a)
            }
            Err(e) => {
                notes.push(format!("The audit log cannot be read: {}", chain(&e)));
                None
            }
        }
    } else {
        notes.push("The run has no audit.jsonl: no calls to show.".into());
        None
    };
    ReportData {
        info,
        runs_dir: runs_dir.to_path_buf(),
        summary,
        ledger,
        audit,
        notes,
    }
}
