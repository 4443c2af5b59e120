//! Counts over a ledger ([`LedgerSummary`]) and the run's `summary.json`
//! ([`RunSummary`]), whose counts equal the ledger's by construction.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Action, LedgerError, LedgerRow, Outcome};
use crate::model::ErrorKind;

/// What a ledger holds, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSummary {
    /// Rows written.
    pub rows: u64,
    /// Rows per outcome (only outcomes that occur).
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Rows per action (only actions that occur).
    pub actions: BTreeMap<Action, u64>,
    /// Rows per error kind (rows with an `error_kind`).
    pub error_kinds: BTreeMap<String, u64>,
    /// Rows per warning kind (the `warning` column's text before its `:`).
    #[serde(default)]
    pub warnings: BTreeMap<String, u64>,
}

impl LedgerSummary {
    /// Counts one row.
    pub fn add(&mut self, row: &LedgerRow) {
        self.add_parts(
            row.action,
            row.outcome,
            row.error_kind.map(ErrorKind::as_str),
        );
        if let Some(w) = &row.warning {
            let kind = w.split_once(':').map_or(w.as_str(), |(k, _)| k).trim();
            *self.warnings.entry(kind.to_string()).or_default() += 1;
        }
    }

    /// Counts one row given its parts.
    pub(crate) fn add_parts(&mut self, action: Action, outcome: Outcome, error_kind: Option<&str>) {
        self.rows += 1;
        *self.outcomes.entry(outcome).or_default() += 1;
        *self.actions.entry(action).or_default() += 1;
        if let Some(kind) = error_kind {
            if let Some(n) = self.error_kinds.get_mut(kind) {
                *n += 1;
            } else {
                self.error_kinds.insert(kind.to_string(), 1);
            }
        }
    }

    /// Rows with this outcome.
    pub fn outcome(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(&outcome).copied().unwrap_or(0)
    }

    /// The `n` most frequent error kinds, most frequent first (ties by name).
    pub fn top_error_kinds(&self, n: usize) -> Vec<(&str, u64)> {
        let mut kinds: Vec<(&str, u64)> = self
            .error_kinds
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        kinds.truncate(n);
        kinds
    }
}

/// `summary.json`: the run id, row count and counts per outcome and action (every key
/// present, 0 when none), plus whatever the command adds (calls, latency, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// The run id.
    pub run_id: String,
    /// Rows in the ledger.
    pub rows: u64,
    /// Rows per outcome; every outcome is a key.
    pub outcomes: BTreeMap<String, u64>,
    /// Rows per action; every action is a key.
    pub actions: BTreeMap<String, u64>,
    /// Rows per error kind.
    #[serde(default)]
    pub error_kinds: BTreeMap<String, u64>,
    /// Anything else the command reports (calls, latency percentiles, lookup mode...).
    #[serde(flatten)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl RunSummary {
    /// A summary of `ledger` for run `run_id`, with empty details.
    pub fn new(run_id: &str, ledger: &LedgerSummary) -> RunSummary {
        let outcomes = Outcome::ALL
            .iter()
            .map(|o| (o.as_str().to_string(), ledger.outcome(*o)))
            .collect();
        let actions = Action::ALL
            .iter()
            .map(|a| {
                let n = ledger.actions.get(a).copied().unwrap_or(0);
                (a.as_str().to_string(), n)
            })
            .collect();
        RunSummary {
            run_id: run_id.to_string(),
            rows: ledger.rows,
            outcomes,
            actions,
            error_kinds: ledger.error_kinds.clone(),
            details: serde_json::Map::new(),
        }
    }

    /// Writes the summary as pretty JSON, atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<(), LedgerError> {
        // What a command added may quote a server: redacted (the counts are ours).
        let mut details = serde_json::Value::Object(self.details.clone());
        crate::secrets::redact_json(&mut details);
        let clean = RunSummary {
            details: match details {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            },
            ..self.clone()
        };
        let mut json = serde_json::to_vec_pretty(&clean).map_err(|source| LedgerError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        json.push(b'\n');
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, &json).map_err(LedgerError::io("write", &tmp))?;
        std::fs::rename(&tmp, path).map_err(LedgerError::io("rename", path))
    }

    /// Reads a summary file.
    pub fn read(path: &Path) -> Result<RunSummary, LedgerError> {
        let bytes = std::fs::read(path).map_err(LedgerError::io("read", path))?;
        serde_json::from_slice(&bytes).map_err(|source| LedgerError::Json {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u64, action: Action, outcome: Outcome, kind: Option<&str>) -> LedgerRow {
        LedgerRow {
            row: n,
            external_id: None,
            user_name: None,
            action,
            outcome,
            http_status: None,
            scim_id: None,
            attempts: 0,
            latency_ms: 0.0,
            error_kind: kind.map(|k| ErrorKind::parse(k).expect("a ledger spelling")),
            error: None,
            changed_fields: vec![],
            source_hash: String::new(),
            finished_at: chrono::Utc::now(),
            warning: None,
            wait_ms: 0.0,
        }
    }

    #[test]
    fn run_summary_has_every_key_and_round_trips_with_details() {
        let mut s = LedgerSummary::default();
        s.add(&row(1, Action::Create, Outcome::Succeeded, None));
        s.add(&row(
            2,
            Action::None,
            Outcome::Invalid,
            Some("invalid_email"),
        ));
        s.add(&row(3, Action::Update, Outcome::Failed, Some("uniqueness")));
        s.add(&row(
            4,
            Action::None,
            Outcome::Invalid,
            Some("invalid_email"),
        ));
        assert_eq!(s.top_error_kinds(1), vec![("invalid_email", 2)]);

        let mut run = RunSummary::new("r1", &s);
        assert_eq!(run.outcomes.len(), 5);
        assert_eq!(run.outcomes["pending"], 0);
        assert_eq!(run.outcomes["invalid"], 2);
        assert_eq!(run.actions.len(), 6);
        run.details.insert("calls".into(), serde_json::json!(7));

        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("summary.json");
        run.write(&p).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(v["calls"], 7, "details are flattened to the top level");
        assert_eq!(v["outcomes"]["succeeded"], 1);
        assert_eq!(RunSummary::read(&p).unwrap(), run);
    }
}
