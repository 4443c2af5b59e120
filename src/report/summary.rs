//! summary.json, as the report reads it: every key optional, so a summary from an
//! older release, or none at all (a crashed run), still gives a report.
//!
//! Owns only the reading; `engine::RunReport` writes the file and defines its keys.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::error::ReportError;

/// summary.json's `calls`, the keys the report shows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SummaryCalls {
    /// SCIM calls.
    pub total: Option<u64>,
    /// 429 answers.
    pub status_429: Option<u64>,
    /// Pauses of the shared gate.
    pub pauses: Option<u64>,
    /// Retries.
    pub retries: Option<u64>,
    /// The pace the run kept at its end (calls/min); `None` = unlimited.
    pub current_rate: Option<u32>,
    /// Median latency, ms.
    pub p50_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
}

/// summary.json's `sync`, the keys the report shows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SummarySync {
    /// `incremental` or `full`.
    pub mode: Option<String>,
    /// Entries the source held.
    pub source_rows: Option<u64>,
    /// Leavers (deactivated, or held).
    pub leavers: Option<u64>,
    /// Whether a guard held the deactivations.
    pub deactivations_held: Option<bool>,
    /// Why.
    pub held_reason: Option<String>,
    /// Managed users missing for fewer runs than `--absent-runs`.
    pub waiting_absent_runs: Option<u64>,
    /// Rows whose source account was re-created.
    pub anchor_changed: Option<u64>,
    /// Attributes compared and the share matching.
    pub attributes_matching: Option<f64>,
}

/// summary.json, the keys the report shows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SummaryView {
    /// Rows in the ledger.
    pub rows: Option<u64>,
    /// Rows per outcome.
    pub outcomes: BTreeMap<String, u64>,
    /// Rows per error kind.
    pub error_kinds: BTreeMap<String, u64>,
    /// The audit head.
    pub audit_head: Option<String>,
    /// The API's counters.
    pub calls: SummaryCalls,
    /// Calls per changed user.
    pub calls_per_changed_user: Option<f64>,
    /// Rows per final verdict (`created`, `updated`...).
    pub done: BTreeMap<String, u64>,
    /// Whether nothing was sent.
    pub dry_run: bool,
    /// The input.
    pub input: Option<String>,
    /// The mapping.
    pub mapping: Option<String>,
    /// Wall time of the run, seconds.
    pub seconds: Option<f64>,
    /// Why the run stopped early.
    pub stopped: Option<String>,
    /// The target.
    pub target: Option<String>,
    /// The sync's own figures (sync runs only).
    pub sync: Option<SummarySync>,
}

/// Reads summary.json; `Ok(None)` when the run wrote none.
pub fn read_summary(path: &Path) -> Result<Option<SummaryView>, ReportError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ReportError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| ReportError::NotASummary {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_summary_reads_with_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("summary.json");
        assert!(read_summary(&p).unwrap().is_none());
        std::fs::write(
            &p,
            r#"{"rows":3,"calls":{"current_rate":300,"extra":1},"sync":{"leavers":2},"new_key":[]}"#,
        )
        .unwrap();
        let s = read_summary(&p).unwrap().unwrap();
        assert_eq!(s.rows, Some(3));
        assert_eq!(s.calls.current_rate, Some(300));
        assert_eq!(s.sync.unwrap().leavers, Some(2));
        std::fs::write(&p, "not json").unwrap();
        assert!(read_summary(&p).is_err());
    }
}
