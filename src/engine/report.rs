//! [`RunReport`]: what a run did, typed. It serialises `summary.json` (the ledger's
//! counts, then the run's details, every key a user or a later `--retry-failed`
//! reads) and carries what the caller prints but the file does not hold.
//!
//! Does not print anything (see `cli`) nor count rows itself: the counts come from
//! the ledger the sink closed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::EngineError;
use crate::apply::api::ApiStats;
use crate::ledger::{RunDir, Verdict as LedgerVerdict};
use crate::model::{Action, ErrorKind, Outcome};
use crate::secrets;

/// What the run did, counted from the ledger: rows per final verdict, except that a
/// row failed only by the group pass (`error_kind = group_membership`) counts both as
/// failed and as the write it made (a user created whose membership failed is
/// created in the tenant). Fields in alphabetical order: summary.json always listed
/// them so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Done {
    /// Users created.
    pub created: u64,
    /// Users deactivated.
    pub deactivated: u64,
    /// Rows inactive in the source with no user in the tenant: nothing to
    /// create, and not counted as unchanged (`error_kind = inactive_absent`).
    pub inactive_absent: u64,
    /// Rows failed.
    pub failed: u64,
    /// Rows invalid.
    pub invalid: u64,
    /// Rows not finished (a stopped run).
    pub pending: u64,
    /// Users of an applied plan (`import --plan`) left alone because they changed
    /// in the tenant since planning (`error_kind = plan_stale`).
    pub plan_stale: u64,
    /// Users reactivated.
    pub reactivated: u64,
    /// Rows already equal (skipped, or succeeded without a write).
    pub unchanged: u64,
    /// Users updated.
    pub updated: u64,
}

impl Done {
    /// Counts the ledger's verdicts.
    pub fn count(rows: &[LedgerVerdict]) -> Done {
        let mut d = Done::default();
        for r in rows {
            match (r.outcome, r.action) {
                (Outcome::Succeeded, Action::Create) => d.created += 1,
                (Outcome::Succeeded, Action::Update) => d.updated += 1,
                (Outcome::Succeeded, Action::Reactivate) => d.reactivated += 1,
                (Outcome::Succeeded, Action::Deactivate) => d.deactivated += 1,
                (Outcome::Skipped, _)
                    if r.note.as_deref() == Some(ErrorKind::InactiveAbsent.as_str()) =>
                {
                    d.inactive_absent += 1
                }
                (Outcome::Skipped, _)
                    if r.note.as_deref() == Some(ErrorKind::PlanStale.as_str()) =>
                {
                    d.plan_stale += 1
                }
                (Outcome::Succeeded, _) | (Outcome::Skipped, _) => d.unchanged += 1,
                (Outcome::Failed, action) => {
                    d.failed += 1;
                    if membership_only(r) {
                        // The user's own write landed before the group pass failed it.
                        match action {
                            Action::Create => d.created += 1,
                            Action::Update => d.updated += 1,
                            Action::Reactivate => d.reactivated += 1,
                            Action::Deactivate => d.deactivated += 1,
                            _ => {}
                        }
                    }
                }
                (Outcome::Invalid, _) => d.invalid += 1,
                (Outcome::Pending, _) => d.pending += 1,
            }
        }
        d
    }

    /// Users the run changed.
    pub fn changed(&self) -> u64 {
        self.created + self.updated + self.reactivated + self.deactivated
    }

    /// API calls per changed user, when any user changed.
    pub fn calls_per_changed(&self, stats: &ApiStats) -> Option<f64> {
        (self.changed() > 0).then(|| stats.api_calls() as f64 / self.changed() as f64)
    }
}

/// Whether the row failed in the group pass only, after its user's own write landed
/// (a 2xx; a row whose only change was its groups made no call of its own).
fn membership_only(r: &LedgerVerdict) -> bool {
    r.error
        .as_ref()
        .is_some_and(|(kind, _)| kind == ErrorKind::GroupMembership.as_str())
        && r.http_status.is_some_and(|s| (200..300).contains(&s))
}

/// summary.json's `calls`: the façade's counters plus two totals, keys in
/// alphabetical order as the file always had them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calls {
    /// The counters.
    pub stats: ApiStats,
    /// SCIM calls (token requests excluded).
    pub total: u64,
    /// Writes (POST, PATCH, PUT).
    pub writes: u64,
}

impl From<ApiStats> for Calls {
    fn from(stats: ApiStats) -> Self {
        Calls {
            total: stats.api_calls(),
            writes: stats.writes(),
            stats,
        }
    }
}

impl Serialize for Calls {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Through a JSON object, whose keys serde_json keeps sorted.
        let mut v = serde_json::to_value(&self.stats).map_err(serde::ser::Error::custom)?;
        if let Some(m) = v.as_object_mut() {
            m.insert("total".into(), self.total.into());
            m.insert("writes".into(), self.writes.into());
        }
        v.serialize(s)
    }
}

/// How a run ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every row succeeded or was already equal.
    Success,
    /// Some rows failed or were invalid.
    Failure,
    /// The run stopped early or left rows pending; resumable.
    Stopped,
}

/// A finished run, as summary.json holds it (details in alphabetical order, as the
/// file always had them) plus what only the caller prints.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The run id.
    pub run_id: String,
    /// Rows in the ledger.
    pub rows: u64,
    /// Rows per outcome; every outcome is a key.
    pub outcomes: BTreeMap<String, u64>,
    /// Rows per action; every action is a key.
    pub actions: BTreeMap<String, u64>,
    /// Rows per error kind.
    pub error_kinds: BTreeMap<String, u64>,
    /// Rows that succeeded with a warning, per kind (`manager_unresolved`: a user
    /// written without its manager); the ledger's `warning` column says more.
    pub warnings: BTreeMap<String, u64>,
    /// The audit log's head: lowercase hex SHA-256 of its seal line, the anchor
    /// `audit verify --expect-head` checks the log against (empty if it could not
    /// be closed).
    pub audit_head: String,
    /// Lines in the audit log.
    pub audit_lines: u64,
    /// The API's counters.
    pub calls: Calls,
    /// The share of rows that succeeded or were already up to date (`None` for
    /// an empty run; see [`RunReport::success_rate`]).
    pub success_rate: Option<f64>,
    /// API calls per changed user.
    pub calls_per_changed_user: Option<f64>,
    /// Managers set in the pass after the creates.
    pub deferred_managers: u64,
    /// Rows per final verdict.
    pub done: Done,
    /// Whether nothing was sent.
    pub dry_run: bool,
    /// SHA-256 of failed.csv as written (a later retry sees whether it was edited).
    pub failed_csv_sha256: String,
    /// Group PATCH calls sent.
    pub group_patches: u64,
    /// The input (or a fed source's label).
    pub input: PathBuf,
    /// The lookup strategy, with why.
    pub lookup: String,
    /// Calls the lookups cost.
    pub lookup_calls: u64,
    /// The mapping file.
    pub mapping: PathBuf,
    /// Wall time of the whole run.
    pub seconds: f64,
    /// The pre-flight's verdict (mode, status, discovery calls, warnings).
    pub preflight: super::PreflightReport,
    /// Time the run lost to the ledger/journal and audit writer.
    pub sink_seconds: f64,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// The API URL, or `embedded-emulator`.
    pub target: String,
    /// CPU seconds of the writer thread.
    pub writer_cpu_seconds: f64,
    /// The run's webhook deliveries (sent, delivered, failed, pending), as the
    /// journal's outbox holds them at the end; `null` without webhooks.
    pub webhooks: Option<crate::apply::sink::OutboxCounts>,
    /// The run directory.
    #[serde(skip)]
    pub dir: RunDir,
    /// Whether this run resumed a stopped one.
    #[serde(skip)]
    pub resumed: bool,
    /// Wall time of the apply pass alone (what the human summary shows).
    #[serde(skip)]
    pub apply_seconds: f64,
    /// A dry run's plan.parquet: path, rows, users, its content hash, the input's
    /// and the mapping's hashes, changes per action and per field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::apply::plan_file::PlanWritten>,
    /// For `import --plan`: the plan applied and the users it found changed since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_plan: Option<AppliedPlan>,
    /// Remarks for the user (e.g. why failed.csv lacks original columns).
    #[serde(skip)]
    pub notes: Vec<String>,
}

/// Stale rows summary.json lists at most (the ledger lists every one).
pub const STALE_ROWS_LISTED: usize = 1000;

/// What `import --plan` applied (summary.json's `applied_plan`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AppliedPlan {
    /// The dry run whose plan this is.
    pub run_id: String,
    /// The plan file.
    pub path: PathBuf,
    /// Its content hash, as verified before the first call.
    pub sha256: String,
    /// Users planned.
    pub users: u64,
    /// Users not applied because they changed in the tenant since planning (a
    /// version that differs, or a planned create whose user now exists):
    /// outcome `skipped`, error_kind `plan_stale`.
    pub stale: u64,
    /// Their rows (the first [`STALE_ROWS_LISTED`]).
    pub stale_rows: Vec<u64>,
    /// The command that plans again from the same input, mapping and target.
    pub replan: String,
}

impl RunReport {
    /// Rows with this outcome.
    pub fn outcome(&self, o: Outcome) -> u64 {
        self.outcomes.get(o.as_str()).copied().unwrap_or(0)
    }

    /// The share of rows that succeeded or were already up to date (`None` for an
    /// empty run).
    pub fn success_rate(&self) -> Option<f64> {
        (self.rows > 0).then(|| {
            (self.outcome(Outcome::Succeeded) + self.outcome(Outcome::Skipped)) as f64
                / self.rows as f64
        })
    }

    /// How the run ended.
    pub fn verdict(&self) -> Verdict {
        if self.stopped.is_some() || self.outcome(Outcome::Pending) > 0 {
            Verdict::Stopped
        } else if self.outcome(Outcome::Failed) + self.outcome(Outcome::Invalid) > 0
            || self
                .error_kinds
                .get(ErrorKind::PlanStale.as_str())
                .is_some_and(|n| *n > 0)
        {
            Verdict::Failure
        } else {
            Verdict::Success
        }
    }

    /// Writes summary.json as pretty JSON, atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<(), EngineError> {
        let io = |source| EngineError::Summary {
            path: path.to_path_buf(),
            source,
        };
        // Its free text (why it stopped, the target, the lookup) through the
        // redactor; the other fields are numbers, hashes and ids scimport made, left
        // intact even if a (very short) secret happens to spell part of one.
        let mut clean = self.clone();
        clean.stopped = clean.stopped.map(|s| secrets::redact(&s).into_owned());
        clean.target = secrets::redact(&clean.target).into_owned();
        clean.lookup = secrets::redact(&clean.lookup).into_owned();
        let mut json = serde_json::to_vec_pretty(&clean).map_err(|e| io(e.into()))?;
        json.push(b'\n');
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, &json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(action: Action, outcome: Outcome, kind: Option<&str>) -> LedgerVerdict {
        let http_status = match action {
            Action::Create => Some(201),
            Action::Update => Some(200),
            _ => None,
        };
        LedgerVerdict {
            row: 1,
            action,
            outcome,
            error: kind.map(|k| (k.to_string(), "why".to_string())),
            http_status,
            note: None,
        }
    }

    #[test]
    fn issue_14_created_user_whose_membership_failed_counts_as_created() {
        let rows = [
            verdict(Action::Create, Outcome::Succeeded, None),
            verdict(Action::Create, Outcome::Failed, Some("group_membership")),
            verdict(Action::Update, Outcome::Failed, Some("group_membership")),
            verdict(Action::Create, Outcome::Failed, Some("uniqueness")),
            verdict(Action::Skip, Outcome::Failed, Some("group_membership")),
        ];
        let d = Done::count(&rows);
        assert_eq!((d.created, d.updated, d.failed), (2, 1, 4), "{d:?}");
        assert_eq!(d.unchanged, 0);
        // An update whose only change was its groups made no call: nothing updated.
        let groups_only = LedgerVerdict {
            http_status: None,
            ..verdict(Action::Update, Outcome::Failed, Some("group_membership"))
        };
        let d = Done::count(&[groups_only]);
        assert_eq!((d.updated, d.failed), (0, 1), "{d:?}");
    }

    #[test]
    fn issue_19_a_leaver_never_created_is_not_unchanged() {
        let absent = LedgerVerdict {
            note: Some("inactive_absent".into()),
            ..verdict(Action::Skip, Outcome::Skipped, None)
        };
        let equal = verdict(Action::Skip, Outcome::Skipped, None);
        let d = Done::count(&[absent, equal]);
        assert_eq!((d.inactive_absent, d.unchanged), (1, 1), "{d:?}");
    }
}
